"""Complaint feedback due dates on a frozen clock: computed from the day received, overdue
computed from the due date (never a stored flag)."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from server.models import Complaint, Task
from tests.factories import auth_headers, make_world

BASE = "/api/v1/followups/complaints/"
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)  # midday UTC: the same day in every zone ±11 h


@pytest.fixture
def world(db_session):
    """The shared world, built on the frozen day (assignments start the day they are made)."""
    with time_machine.travel(NOW, tick=False):
        yield make_world(db_session)


def body(world, **overrides):
    return {"channel": "hotline_12345", "category_code": "medical_service_quality",
            "content": "诊所乱收费", "premises_id": world.clinic.id, "anonymous": False,
            "complainant": {"name": "李四", "phone": "13900000000"}, **overrides}


def intake(client, db_session, world, **overrides):
    response = client.post(BASE, json=body(world, **overrides),
                           headers=auth_headers(db_session, world.chief))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_feedback_is_due_fifteen_days_after_the_day_received(client, db_session, world):
    with time_machine.travel(NOW, tick=False):
        now = intake(client, db_session, world)
        earlier = intake(client, db_session, world, received_at="2027-03-01T12:00:00+00:00")
    assert now["feedback_due"] == "2027-03-25"
    assert earlier["feedback_due"] == "2027-03-16"
    assert now["received_at"].startswith("2027-03-10T12:00:00")
    # The verification task is due the same day: the answer needs the facts.
    assert db_session.get(Task, now["task_id"]).due_date == date(2027, 3, 25)
    assert db_session.get(Task, earlier["task_id"]).due_date == date(2027, 3, 16)


def test_the_number_of_days_is_a_setting(app, client, db_session, world, monkeypatch):
    monkeypatch.setitem(app.config, "COMPLAINT_FEEDBACK_DAYS", 5)
    with time_machine.travel(NOW, tick=False):
        assert intake(client, db_session, world)["feedback_due"] == "2027-03-15"


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
    with time_machine.travel(datetime(2027, 3, 25, 15, 0, tzinfo=UTC), tick=False):
        assert overdue_ids(client, db_session, world) == []  # due today: not yet overdue
    with time_machine.travel(datetime(2027, 3, 26, 1, 0, tzinfo=UTC), tick=False):
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
        assert answered.get_json()["feedback_at"].startswith("2027-03-26T01:00:00")
        assert overdue_ids(client, db_session, world) == []
