"""The change feed is numbered in commit order: a reader never skips a late commit."""

import os

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.models import ChangeEvent
from server.services.changes import emit, feed_head


def test_an_event_committed_late_is_numbered_after_what_readers_have_seen(tmp_path):
    from server.extensions import db
    from tests.live import prepared_database

    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("SQLite lets one transaction write at a time")
    _, app = prepared_database(tmp_path, lambda session: None)
    with app.app_context():
        engine = db.engine
        slow, quick, reader = (Session(bind=engine) for _ in range(3))
        try:
            emit(slow, "premises", 1)  # a long push: written first, committed last
            slow.flush()
            quick.execute(text("SET lock_timeout = '3s'"))
            emit(quick, "premises", 2)
            quick.commit()
            seen_up_to = feed_head(reader)
            seen = reader.scalars(select(ChangeEvent.entity_id)
                                  .where(ChangeEvent.seq <= seen_up_to)).all()
            reader.commit()
            slow.commit()
            later = reader.scalars(select(ChangeEvent.entity_id)
                                   .where(ChangeEvent.seq > seen_up_to)).all()
        finally:
            for session in (slow, quick, reader):
                session.close()
            engine.dispose()
    assert seen == ["2"]
    assert later == ["1"]  # a pull from seen_up_to still gets it


def test_an_event_of_a_rolled_back_savepoint_is_not_in_the_feed(app, db_session):
    from server.db import transaction
    from server.extensions import db

    with app.app_context():
        before = feed_head(db.session)
        with transaction():
            emit(db.session, "premises", 10)
            with pytest.raises(RuntimeError):
                with db.session.begin_nested():
                    emit(db.session, "premises", 11)
                    raise RuntimeError("refused")
        events = db.session.scalars(select(ChangeEvent).where(ChangeEvent.seq > before)
                                    .order_by(ChangeEvent.seq)).all()
        assert [(e.seq, e.entity_id) for e in events] == [(before + 1, "10")]
        assert feed_head(db.session) == before + 1
