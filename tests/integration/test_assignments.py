"""Assignment rules: no backdating, supervisors staff only their own people, ending is at once."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from server.models import CellAssignment
from tests.factories import assign, auth_headers, make_user, make_world

# Mid-morning, so "today" is the same date in every zone the servers run in.
NOW = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
TODAY = date(2026, 3, 10)


@pytest.fixture
def world(db_session):
    """The shared world, built on the frozen day (liu, the chief, supervises D1; wang
    coordinates D1001001 in it, zhao D2001001 elsewhere)."""
    # Frozen for the whole test: the rules compare dates with today.
    with time_machine.travel(NOW, tick=False):
        yield make_world(db_session)


def rows(db_session):
    db_session.expire_all()
    return sorted((a.id, a.user_id, a.cell_id, a.valid_from, a.valid_to)
                  for a in db_session.query(CellAssignment))


def post(client, db_session, actor, **body):
    return client.post("/api/v1/assignments/", json=body, headers=auth_headers(db_session, actor))


@pytest.mark.parametrize("who", ["admin", "supervisor"])
def test_nobody_may_backdate_an_assignment(client, db_session, world, who):
    actor = {"admin": world.admin, "supervisor": world.chief}[who]
    before = rows(db_session)
    response = post(client, db_session, actor, user_id=world.wang.id,
                    cell_id=world.grid.cells["D1002001"].id, valid_from="2000-01-01")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and "valid_from" in error["details"]
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    response = post(client, db_session, actor, user_id=world.wang.id,
                    cell_id=world.grid.cells["D1002001"].id, valid_from=yesterday)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and "valid_from" in error["details"]
    assert rows(db_session) == before


def test_an_assignment_may_start_today_or_later(client, db_session, world):
    for start in (TODAY, TODAY + timedelta(days=7)):
        response = post(client, db_session, world.chief, user_id=world.wang.id,
                        cell_id=world.grid.cells["D1002001"].id,
                        valid_from=start.isoformat(), valid_to=start.isoformat())
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["valid_from"] == start.isoformat()


def test_supervisor_cannot_assign_staff_of_another_district(client, db_session, world):
    before = rows(db_session)
    response = post(client, db_session, world.chief, user_id=world.zhao.id,
                    cell_id=world.grid.cells["D1002001"].id)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "user_not_assignable"
    assert rows(db_session) == before


def test_staff_planned_for_another_district_are_not_assignable_either(client, db_session,
                                                                       world):
    newcomer = make_user(db_session, "coordinator", "sun")
    assign(db_session, world.admin, newcomer, world.grid.cells["D2002001"],
           valid_from=TODAY + timedelta(days=3))
    before = rows(db_session)
    response = post(client, db_session, world.chief, user_id=newcomer.id,
                    cell_id=world.grid.cells["D1002001"].id)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "user_not_assignable"
    assert rows(db_session) == before


def test_supervisor_assigns_own_staff_and_unassigned_staff(client, db_session, world):
    own = post(client, db_session, world.chief, user_id=world.wang.id,
               cell_id=world.grid.cells["D1002001"].id)
    assert own.status_code == 201, own.get_json()
    newcomer = make_user(db_session, "coordinator", "sun")
    fresh = post(client, db_session, world.chief, user_id=newcomer.id,
                 cell_id=world.grid.cells["D1002002"].id)
    assert fresh.status_code == 201, fresh.get_json()


def test_staff_whose_other_assignment_ended_are_assignable(client, db_session, world):
    ended = client.post(f"/api/v1/assignments/{world.assignments['zhao'].id}/end",
                        headers=auth_headers(db_session, world.admin))
    assert ended.status_code == 200
    response = post(client, db_session, world.chief, user_id=world.zhao.id,
                    cell_id=world.grid.cells["D1002001"].id)
    assert response.status_code == 201, response.get_json()


def test_admin_assigns_staff_of_any_district(client, db_session, world):
    response = post(client, db_session, world.admin, user_id=world.zhao.id,
                    cell_id=world.grid.cells["D1002001"].id)
    assert response.status_code == 201, response.get_json()


def test_ending_an_assignment_takes_the_cell_away_at_once(client, db_session, world):
    wang = auth_headers(db_session, world.wang)
    assert [c["code"] for c in client.get("/api/v1/cells/", headers=wang).get_json()] == [
        "D1001001"]
    ended = client.post(f"/api/v1/assignments/{world.assignments['wang'].id}/end",
                        headers=auth_headers(db_session, world.chief))
    assert ended.status_code == 200
    assert ended.get_json()["valid_to"] == TODAY.isoformat()
    assert ended.get_json()["ended_at"] is not None
    # Still the same day, the same second: the cell is gone already.
    assert client.get("/api/v1/cells/", headers=wang).get_json() == []
    cell_id = world.grid.cells["D1001001"].id
    assert client.get(f"/api/v1/cells/{cell_id}", headers=wang).status_code == 404
    listed = client.get("/api/v1/assignments/", headers=auth_headers(
        db_session, world.chief)).get_json()
    assert world.assignments["wang"].id not in [a["id"] for a in listed]


def test_an_ended_assignment_cannot_be_ended_again(client, db_session, world):
    headers = auth_headers(db_session, world.chief)
    url = f"/api/v1/assignments/{world.assignments['wang'].id}/end"
    assert client.post(url, headers=headers).status_code == 200
    before = rows(db_session)
    again = client.post(url, headers=headers)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "assignment_ended"
    assert rows(db_session) == before


def test_a_cell_can_be_given_back_the_day_its_assignment_ended(client, db_session, world):
    headers = auth_headers(db_session, world.chief)
    assert client.post(f"/api/v1/assignments/{world.assignments['wang'].id}/end",
                       headers=headers).status_code == 200
    again = post(client, db_session, world.chief, user_id=world.wang.id,
                 cell_id=world.grid.cells["D1001001"].id)
    assert again.status_code == 201, again.get_json()
    wang = auth_headers(db_session, world.wang)
    assert [c["code"] for c in client.get("/api/v1/cells/", headers=wang).get_json()] == [
        "D1001001"]
