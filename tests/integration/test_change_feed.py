"""The change feed is numbered in commit order: a reader never skips a late commit."""

import pytest
from sqlalchemy import select

from server.models import ChangeEvent
from server.services.changes import emit, feed_head


def test_an_event_committed_late_is_numbered_after_what_readers_have_seen(tmp_path):
    from tests.live import concurrent_sessions

    with concurrent_sessions(tmp_path, 3) as (slow, quick, reader):
        emit(slow, "premises", 1)  # a long push: written first, committed last
        slow.flush()
        emit(quick, "premises", 2)
        quick.commit()
        seen_up_to = feed_head(reader)
        seen = reader.scalars(select(ChangeEvent.entity_id)
                              .where(ChangeEvent.seq <= seen_up_to)).all()
        reader.commit()
        slow.commit()
        later = reader.scalars(select(ChangeEvent.entity_id)
                               .where(ChangeEvent.seq > seen_up_to)).all()
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
