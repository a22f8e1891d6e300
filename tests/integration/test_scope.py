"""Every read and write is scoped: assigned cells and their descendants, nothing else."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from server.models import CellAssignment
from tests.factories import assign, auth_headers, make_user

# world (tests/conftest.py): wang coordinates D1001001, liu (chief) supervises D1, zhao
# coordinates D2001001 in the other district.


def codes(response):
    return sorted(c["code"] for c in response.get_json())


# A Monday mid-morning in every zone the servers run in: dates the walk makes (deadlines,
# decisions, due days) are the same whenever the suite runs.
FROZEN = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(FROZEN, tick=False):
        yield


def test_coordinator_sees_only_their_cell(client, db_session, world):
    grid, coordinator = world.grid, world.wang
    headers = auth_headers(db_session, coordinator)
    assert codes(client.get("/api/v1/cells/", headers=headers)) == ["D1001001"]
    assert client.get(f"/api/v1/cells/{grid.cells['D1001001'].id}", headers=headers).status_code == 200


def test_supervisor_sees_the_whole_subtree(client, db_session, world):
    supervisor = world.chief
    headers = auth_headers(db_session, supervisor)
    assert codes(client.get("/api/v1/cells/", headers=headers)) == [
        "D1", "D1001", "D1001001", "D1001002", "D1002", "D1002001", "D1002002"]


@pytest.mark.parametrize("code", ["D1", "D1002", "D2", "D2001001"])
def test_cells_out_of_scope_are_not_found(client, db_session, world, code):
    grid, coordinator = world.grid, world.wang
    response = client.get(f"/api/v1/cells/{grid.cells[code].id}",
                          headers=auth_headers(db_session, coordinator))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_lookup_outside_scope_answers_no_cell(client, db_session, world):
    coordinator = world.wang
    response = client.get("/api/v1/cells/lookup?lon=106.15&lat=39.05",
                          headers=auth_headers(db_session, coordinator))
    assert response.status_code == 200 and response.get_json()["cell"] is None


def test_coordinator_cannot_assign(client, db_session, world):
    grid, coordinator, other = world.grid, world.wang, world.zhao
    response = client.post("/api/v1/assignments/", json={
        "user_id": other.id, "cell_id": grid.cells["D1001001"].id},
        headers=auth_headers(db_session, coordinator))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "role_required"


def test_supervisor_assigns_inside_but_not_outside_their_scope(client, db_session, world):
    grid, coordinator, supervisor = world.grid, world.wang, world.chief
    headers = auth_headers(db_session, supervisor)
    inside = client.post("/api/v1/assignments/", json={
        "user_id": coordinator.id, "cell_id": grid.cells["D1002001"].id, "duty": ["clinic"]},
        headers=headers)
    assert inside.status_code == 201, inside.get_json()
    assert inside.get_json()["cell_code"] == "D1002001"
    outside = client.post("/api/v1/assignments/", json={
        "user_id": coordinator.id, "cell_id": grid.cells["D2002001"].id}, headers=headers)
    assert outside.status_code == 404
    assert outside.get_json()["error"]["code"] == "not_found"


def test_an_ended_assignment_gives_no_scope(client, db_session, world):
    admin, coordinator = world.admin, world.wang
    headers = auth_headers(db_session, coordinator)
    assignment_id = client.get("/api/v1/assignments/", headers=headers).get_json()[0]["id"]
    ended = client.post(f"/api/v1/assignments/{assignment_id}/end",
                        headers=auth_headers(db_session, admin))
    assert ended.status_code == 200
    tomorrow = date.today() + timedelta(days=1)  # the frozen clock's tomorrow
    with time_machine.travel(tomorrow, tick=False):
        # A token issued now may have expired by tomorrow morning: sign in again then.
        headers = auth_headers(db_session, coordinator)
        assert client.get("/api/v1/cells/", headers=headers).get_json() == []


def test_future_assignment_gives_no_scope_yet(client, db_session, world):
    grid, admin = world.grid, world.admin
    newcomer = make_user(db_session, "coordinator")
    assign(db_session, admin, newcomer, grid.cells["D2"], valid_from=date.today() + timedelta(days=3))
    assert client.get("/api/v1/cells/", headers=auth_headers(db_session, newcomer)).get_json() == []


def test_users_list_is_scoped(client, db_session, world):
    coordinator, supervisor = world.wang, world.chief
    mine = client.get("/api/v1/users/", headers=auth_headers(db_session, coordinator)).get_json()
    assert [u["username"] for u in mine] == ["wang"]
    staff = client.get("/api/v1/users/", headers=auth_headers(db_session, supervisor)).get_json()
    assert sorted(u["username"] for u in staff) == ["liu", "wang"]


def test_supervisor_cannot_end_an_assignment_on_their_own_cell(client, db_session, world):
    grid, admin, supervisor = world.grid, world.admin, world.chief
    city = make_user(db_session, "supervisor", "city")
    on_district = assign(db_session, admin, city, grid.cells["D1"])
    response = client.post(f"/api/v1/assignments/{on_district.id}/end",
                           headers=auth_headers(db_session, supervisor))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_managed"
    db_session.expire_all()
    assert db_session.get(CellAssignment, on_district.id).valid_to is None


@pytest.mark.parametrize("target", ["admin", "supervisor", "missing"])
def test_supervisor_cannot_assign_admins_supervisors_or_unknown_ids_alike(client, db_session,
                                                                           world, target):
    grid, admin, supervisor = world.grid, world.admin, world.chief
    user_id = {"admin": admin.id, "supervisor": supervisor.id, "missing": 10**6}[target]
    response = client.post("/api/v1/assignments/", json={
        "user_id": user_id, "cell_id": grid.cells["D1002"].id},
        headers=auth_headers(db_session, supervisor))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "user_not_assignable"


def test_map_validation_report_is_for_admins_only(client, db_session, world):
    grid, supervisor = world.grid, world.chief
    response = client.post(f"/api/v1/maps/{grid.map.id}/validate",
                           headers=auth_headers(db_session, supervisor))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "role_required"
