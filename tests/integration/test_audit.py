"""The audit trail: every state change is a link in a hash chain that `flask audit verify` checks."""

import pytest
from sqlalchemy import text

from server.models import AuditEvent
from tests.factories import assign, make_grid, make_user


def actions(db_session):
    return [e.action for e in db_session.query(AuditEvent).order_by(AuditEvent.id)]


def test_state_changes_are_recorded_in_order(db_session):
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    assign(db_session, admin, make_user(db_session), grid.cells["D1"])
    recorded = actions(db_session)
    assert recorded[:2] == ["map.create", "map.import_level"]
    assert "cell.subdivide" in recorded and "map.activate" in recorded
    assert recorded[-2:] == ["user.create", "assignment.create"]
    last = db_session.query(AuditEvent).order_by(AuditEvent.id.desc()).first()
    assert last.actor_id == admin.id and last.after_digest is not None


def test_verify_passes_on_an_intact_chain(runner, db_session):
    make_grid(db_session)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output


def test_verify_finds_a_row_edited_behind_the_apps_back(runner, db_session):
    make_grid(db_session)
    make_user(db_session, "admin")
    victim = db_session.query(AuditEvent).order_by(AuditEvent.id).offset(2).first()
    db_session.execute(text("UPDATE audit_events SET actor_id = NULL, action = 'map.nothing' "
                            "WHERE id = :id"), {"id": victim.id})
    db_session.flush()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {victim.id}" in result.output and "content changed" in result.output


def test_verify_finds_a_deleted_event(runner, db_session):
    make_grid(db_session)
    victim = db_session.query(AuditEvent).order_by(AuditEvent.id).offset(1).first()
    db_session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": victim.id})
    db_session.flush()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"BROKEN at event {victim.id}" in result.output


def test_verify_finds_events_cut_off_the_end(runner, db_session):
    make_grid(db_session)
    last = db_session.query(AuditEvent).order_by(AuditEvent.id.desc()).first()
    db_session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last.id})
    db_session.flush()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "missing" in result.output


def test_an_event_of_a_rolled_back_savepoint_never_enters_the_chain(app, runner, db_session):
    from server.db import transaction
    from server.extensions import db
    from server.services import audit

    make_grid(db_session)
    with app.app_context():
        with transaction():
            audit.record(db.session, None, "test.kept", "test", 1)
            with pytest.raises(RuntimeError):
                with db.session.begin_nested():
                    audit.record(db.session, None, "test.dropped", "test", 2)
                    with db.session.begin_nested():
                        audit.record(db.session, None, "test.dropped_inner", "test", 3)
                    raise RuntimeError("the record is refused")
            with db.session.begin_nested():
                audit.record(db.session, None, "test.kept_savepoint", "test", 4)
        with pytest.raises(RuntimeError):
            with transaction():  # fails before any SQL is sent: the event goes with it
                audit.record(db.session, None, "test.rolled_back", "test", 5)
                raise RuntimeError("the request fails")
        with transaction():
            audit.record(db.session, None, "test.next_request", "test", 6)
    assert [a for a in actions(db_session) if a.startswith("test.")] == [
        "test.kept", "test.kept_savepoint", "test.next_request"]
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_the_chain_head_is_locked_only_while_committing(tmp_path):
    """A transaction that recorded an event does not make another one wait for it."""
    from server.services import audit
    from tests.live import concurrent_sessions

    with concurrent_sessions(tmp_path, 2) as (slow, quick):
        audit.record(slow, None, "test.slow", "test", 1)
        slow.flush()
        audit.record(quick, None, "test.quick", "test", 2)
        quick.commit()  # fails with a lock timeout if the slow one held the head
        slow.commit()
        checked, broken = audit.verify_chain(quick)
        order = [e.action for e in quick.query(AuditEvent).order_by(AuditEvent.id)]
    assert (checked, broken) == (2, None)
    assert order == ["test.quick", "test.slow"]


def test_a_failed_insert_in_a_savepoint_drops_only_that_savepoints_events(app, runner, db_session):
    """A caught IntegrityError (a replay racing its original) keeps the batch's other events."""
    from sqlalchemy.exc import IntegrityError

    from server.db import transaction
    from server.extensions import db
    from server.models import PushedRecord
    from server.services import audit

    owner = make_user(db_session, "coordinator", "owner")
    db_session.add(PushedRecord(client_uuid="taken", record_type="inspection", user_id=owner.id,
                                content_hash="0" * 64))
    db_session.flush()
    with app.app_context():
        with transaction():
            audit.record(db.session, None, "test.before", "test", 1)
            with db.session.begin_nested():
                audit.record(db.session, None, "test.released", "test", 2)
            with pytest.raises(IntegrityError):
                with db.session.begin_nested():
                    audit.record(db.session, None, "test.failed", "test", 3)
                    db.session.add(PushedRecord(client_uuid="taken", record_type="inspection",
                                                user_id=owner.id, content_hash="1" * 64))
                    db.session.flush()
            audit.record(db.session, None, "test.after", "test", 4)
    assert [a for a in actions(db_session) if a.startswith("test.")] == [
        "test.before", "test.released", "test.after"]
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
