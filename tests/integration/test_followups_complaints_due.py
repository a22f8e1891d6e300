"""Complaint feedback due dates on a frozen clock: WORKING days from the day received on the
stored calendar (shipped 2026.json: 中秋 25-27 Sep, 国庆 1-7 Oct, 调休 Saturday 10 Oct), overdue
computed from the due date (never a stored flag), a year with no calendar refused."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from server.models import AuditEvent, Complainant, Complaint, Task, WorkingCalendar
from server.services.followups.calendars import load_shipped_calendars
from tests.factories import auth_headers, make_world

BASE = "/api/v1/followups/complaints/"
# Wednesday 30 Sep 2026, midday UTC: the same day in every zone ±11 h; 国庆 starts tomorrow.
NOW = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(db_session):
    """The shared world, built on the frozen day (assignments start the day they are made)."""
    with time_machine.travel(NOW, tick=False):
        world = make_world(db_session)
        load_shipped_calendars(db_session)
        yield world


def body(world, **overrides):
    return {"channel": "hotline_12345", "category_code": "medical_service_quality",
            "content": "诊所乱收费", "premises_id": world.clinic.id, "anonymous": False,
            "complainant": {"name": "李四", "phone": "13900000000"}, **overrides}


def intake(client, db_session, world, **overrides):
    response = client.post(BASE, json=body(world, **overrides),
                           headers=auth_headers(db_session, world.chief))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_feedback_is_due_fifteen_working_days_after_the_day_received(client, db_session, world):
    with time_machine.travel(NOW, tick=False):
        now = intake(client, db_session, world)
        earlier = intake(client, db_session, world, received_at="2026-09-21T12:00:00+00:00")
    # From Wed 30 Sep: 1-7 Oct off; 8, 9 and the 调休 Saturday 10 Oct are 1-3; 12-16 and
    # 19-23 Oct 4-13; 26 and 27 Oct the 14th and 15th (calendar days would give 15 Oct).
    assert now["feedback_due"] == "2026-10-27"
    # From Mon 21 Sep: 22-24 Sep 1-3; 25-27 中秋 off; 28-30 Sep 4-6; 1-7 Oct off;
    # 8, 9, 10 Oct 7-9; 12-16 Oct 10-14; Mon 19 Oct the 15th.
    assert earlier["feedback_due"] == "2026-10-19"
    assert now["received_at"].startswith("2026-09-30T12:00:00")
    # The verification task is due the same day: the answer needs the facts.
    assert db_session.get(Task, now["task_id"]).due_date == date(2026, 10, 27)
    assert db_session.get(Task, earlier["task_id"]).due_date == date(2026, 10, 19)


def test_the_number_of_days_is_a_setting(app, client, db_session, world, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_FEEDBACK_DAYS", 5)
    with time_machine.travel(NOW, tick=False):
        # 8, 9, 10 (调休 Saturday), 12, 13 Oct.
        assert intake(client, db_session, world)["feedback_due"] == "2026-10-13"


def test_an_anonymous_complaint_has_no_feedback_due(client, db_session, world):
    with time_machine.travel(NOW, tick=False):
        created = intake(client, db_session, world, anonymous=True, complainant=None)
    assert created["feedback_due"] is None
    assert db_session.get(Complaint, created["id"]).feedback_due is None


def overdue_ids(client, db_session, world):
    response = client.get(BASE, query_string={"feedback_overdue": "true"},
                          headers=auth_headers(db_session, world.chief))
    assert response.status_code == 200
    return [c["id"] for c in response.get_json()]


def test_feedback_is_overdue_the_day_after_it_was_due_until_it_is_given(client, db_session,
                                                                         world):
    with time_machine.travel(NOW, tick=False):
        complaint = intake(client, db_session, world)
        anonymous = intake(client, db_session, world, anonymous=True, complainant=None)
        assert overdue_ids(client, db_session, world) == []
    with time_machine.travel(datetime(2026, 10, 27, 15, 0, tzinfo=UTC), tick=False):
        assert overdue_ids(client, db_session, world) == []  # due today: not yet overdue
    with time_machine.travel(datetime(2026, 10, 28, 1, 0, tzinfo=UTC), tick=False):
        assert overdue_ids(client, db_session, world) == [complaint["id"]]
        wang = auth_headers(db_session, world.wang)
        for item in (complaint, anonymous):
            assert client.post(f"{BASE}{item['id']}/verify", headers=wang,
                               json={"outcome": "verified", "result": "属实"}).status_code == 200
        # Verified is not answered: still overdue until the complainant hears back.
        assert overdue_ids(client, db_session, world) == [complaint["id"]]
        answered = client.post(f"{BASE}{complaint['id']}/feedback", json={"text": "已处理"},
                               headers=auth_headers(db_session, world.chief))
        assert answered.status_code == 200
        assert answered.get_json()["feedback_at"].startswith("2026-10-28T01:00:00")
        assert overdue_ids(client, db_session, world) == []


def stored(db_session):
    db_session.expire_all()
    return tuple(db_session.scalar(select(func.count()).select_from(model))
                 for model in (Complaint, Complainant, Task, AuditEvent))


def test_a_year_without_a_calendar_refuses_the_intake_and_stores_nothing(client, db_session,
                                                                         world):
    # Received 20 Dec 2027: 15 working days run into 2028, and no 2028 calendar is loaded.
    late = datetime(2027, 12, 20, 12, 0, tzinfo=UTC)
    assert db_session.get(WorkingCalendar, 2028) is None
    with time_machine.travel(late, tick=False):
        chief = auth_headers(db_session, world.chief)  # signing in is audited: before counting
        before = stored(db_session)
        response = client.post(BASE, json=body(world), headers=chief)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "calendar_missing"
        assert error["details"] == {"year": 2028}
        assert stored(db_session) == before
