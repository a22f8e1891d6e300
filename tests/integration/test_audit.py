"""The audit trail: every state change is a link in a hash chain that `flask audit verify` checks."""

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
