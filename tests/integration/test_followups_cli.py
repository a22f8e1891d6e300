"""`flask followups calendar load FILE | show YEAR` and `flask followups rules check`."""

import json

from server.models import AuditEvent, WorkingCalendar
from server.services.followups import DATA

CALENDARS = DATA / "calendars"


def test_loading_a_calendar_stores_it_and_again_changes_nothing(runner, db_session):
    first = runner.invoke(args=["followups", "calendar", "load", str(CALENDARS / "2026.json")])
    assert first.exit_code == 0, first.output
    assert "2026: created" in first.output
    again = runner.invoke(args=["followups", "calendar", "load", str(CALENDARS / "2026.json")])
    assert "2026: unchanged" in again.output
    db_session.expire_all()
    assert db_session.get(WorkingCalendar, 2026).provisional is False
    assert db_session.query(AuditEvent).filter_by(action="calendar.load").count() == 1


def test_a_provisional_year_says_so_and_the_official_file_replaces_it(runner, db_session,
                                                                      tmp_path):
    loaded = runner.invoke(args=["followups", "calendar", "load", str(CALENDARS / "2027.json")])
    assert "PROVISIONAL" in loaded.output
    official = json.loads((CALENDARS / "2027.json").read_text(encoding="utf-8"))
    official.update(provisional=False, source="国务院办公厅关于2027年部分节假日安排的通知")
    official["workdays"] = [{"date": "2027-02-20", "name": "春节调休上班"}]
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(official, ensure_ascii=False), encoding="utf-8")
    replaced = runner.invoke(args=["followups", "calendar", "load", str(path)])
    assert "2027: replaced" in replaced.output, replaced.output
    shown = runner.invoke(args=["followups", "calendar", "show", "2027"])
    assert "PROVISIONAL" not in shown.output and "2027-02-20" in shown.output


def test_an_invalid_calendar_is_refused_naming_the_problem_and_nothing_is_stored(runner,
                                                                                 db_session,
                                                                                 tmp_path):
    document = json.loads((CALENDARS / "2026.json").read_text(encoding="utf-8"))
    document["workdays"].append({"date": "2026-10-03", "name": "x"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(args=["followups", "calendar", "load", str(path)])
    assert result.exit_code == 1
    assert "calendar_invalid" in result.output and "also a holiday" in result.output
    assert db_session.query(WorkingCalendar).count() == 0


def test_showing_a_year_not_loaded_is_an_error(runner, db_session):
    result = runner.invoke(args=["followups", "calendar", "show", "2028"])
    assert result.exit_code == 1 and "calendar_missing" in result.output


def test_showing_2026_counts_its_working_days(runner, db_session):
    runner.invoke(args=["followups", "calendar", "load", str(CALENDARS / "2026.json")])
    result = runner.invoke(args=["followups", "calendar", "show", "2026"])
    assert result.exit_code == 0, result.output
    # 261 weekdays, 19 of them holidays, 6 weekend days worked (chinese-calendar 1.11.0 agrees).
    assert "248 working days in 2026" in result.output


def test_the_rules_check_prints_the_table(runner, tmp_path):
    result = runner.invoke(args=["followups", "rules", "check"])
    assert result.exit_code == 0 and "key" in result.output and "3 working days" in result.output
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"unit": "working_days", "rules": []}), encoding="utf-8")
    refused = runner.invoke(args=["followups", "rules", "check", str(bad)])
    assert refused.exit_code == 1 and "general rule" in refused.output


def test_the_sweep_raises_once_and_a_second_run_raises_nothing(runner, db_session):
    from datetime import UTC, date, datetime

    import time_machine

    from server.models import Notification
    from tests.factories import assign, make_user
    from tests.integration.followups_scene import NOW, build_scene, issue

    with time_machine.travel(NOW, tick=False):
        scene = build_scene(db_session)
        street = make_user(db_session, "supervisor", "street_sup")
        assign(db_session, scene.world.admin, street, scene.world.grid.cells["D1001"])
        issue(db_session, scene, deadline=date(2026, 3, 5))
        db_session.flush()
    with time_machine.travel(datetime(2026, 3, 8, 2, 30, tzinfo=UTC), tick=False):
        first = runner.invoke(args=["followups", "sweep"])
        assert first.exit_code == 0, first.output
        assert first.output.strip() == ("2026-03-08: 1 item due or near, 0 reminders and 1 "
                                        "escalation raised, 0 already raised before")
        second = runner.invoke(args=["followups", "sweep"])
        assert "0 reminders and 0 escalations raised, 1 already raised before" in second.output
    db_session.expire_all()
    assert {n.user_id for n in db_session.query(Notification)} == {street.id}
    assert db_session.query(AuditEvent).filter_by(action="followups.sweep").count() == 2


def test_the_escalation_rules_check_prints_the_table_or_the_problems(runner, tmp_path):
    shipped = runner.invoke(args=["followups", "rules", "check-escalation"])
    assert shipped.exit_code == 0, shipped.output
    assert "escalate to street   3 days overdue" in shipped.output
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"remind": [], "escalate": [{"days_overdue": 3,
                                                             "level": "county"}]}))
    bad = runner.invoke(args=["followups", "rules", "check-escalation", str(path)])
    assert bad.exit_code == 1 and "escalate[0].level must be one of" in bad.output
