"""Delta pulls: only the user's scope, tombstones when something leaves it, cursors that page."""

import hashlib
from datetime import date, timedelta

import pytest
import time_machine

from server.services.assignments import end_assignment
from server.services.premises import update_premises
from server.services.tasks import cancel_task, create_task
from tests.factories import (
    assign,
    auth_headers,
    inspection_data,
    jpeg_bytes,
    load_checklists,
    make_grid,
    make_premises,
    make_user,
)


@pytest.fixture
def field(db_session):
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    wang = make_user(db_session, "coordinator", "wang")
    assignment = assign(db_session, admin, wang, grid.cells["D1001001"])
    load_checklists(db_session)
    mine = make_premises(db_session, admin, grid.cells["D1001001"])
    other = make_premises(db_session, admin, grid.cells["D2001001"])
    task = create_task(db_session, admin, kind="routine_patrol", premises_id=mine.id,
                       due_date=date(2026, 12, 1))
    return {"grid": grid, "admin": admin, "wang": wang, "assignment": assignment, "mine": mine,
            "other": other, "task": task}


def pull(client, headers, cursor=None, scope=None, limit=None):
    query = {k: v for k, v in {"cursor": cursor, "scope": scope, "limit": limit}.items() if v}
    return client.get("/api/v1/sync/pull", query_string=query, headers=headers)


def keys(page):
    return [(item["type"], item["id"], item["op"]) for item in page["items"]]


def test_first_pull_is_everything_in_scope_and_nothing_else(client, db_session, field):
    page = pull(client, auth_headers(db_session, field["wang"])).get_json()
    assert page["reset"] is True and page["has_more"] is False
    kinds = {(t, i) for t, i, _ in keys(page)}
    assert ("cell", field["grid"].cells["D1001001"].id) in kinds
    assert ("premises", field["mine"].id) in kinds and ("premises", field["other"].id) not in kinds
    assert ("task", field["task"].id) in kinds
    assert {t for t, _ in kinds} == {"cell", "premises", "task", "checklist"}
    assert all(c == field["grid"].cells["D1001001"].id for t, c in kinds if t == "cell")


def test_a_later_pull_returns_only_what_changed_in_scope(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    first = pull(client, headers).get_json()
    update_premises(db_session, field["admin"], field["mine"].id, {"contact_phone": "110"},
                    base_version=1)
    update_premises(db_session, field["admin"], field["other"].id, {"contact_phone": "120"},
                    base_version=1)
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert keys(page) == [("premises", field["mine"].id, "upsert")]
    assert page["items"][0]["data"]["contact_phone"] == "110"
    empty = pull(client, headers, page["next_cursor"], page["scope"]).get_json()
    assert empty["items"] == [] and empty["next_cursor"] == page["next_cursor"]


def test_premises_moved_out_of_scope_becomes_a_tombstone(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    first = pull(client, headers).get_json()
    update_premises(db_session, field["admin"], field["mine"].id, {"lon": 106.15, "lat": 39.05},
                    base_version=1)
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert ("premises", field["mine"].id, "delete") in keys(page)
    assert all(item["data"] is None for item in page["items"] if item["op"] == "delete")


def test_a_cancelled_task_becomes_a_tombstone(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    first = pull(client, headers).get_json()
    cancel_task(db_session, field["admin"], field["task"].id, reason="停业")
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert keys(page) == [("task", field["task"].id, "delete")]


def test_after_reassignment_the_old_coordinator_gets_tombstones(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    first = pull(client, headers).get_json()
    zhao = make_user(db_session, "coordinator", "zhao")
    end_assignment(db_session, field["admin"], field["assignment"].id)
    assign(db_session, field["admin"], zhao, field["grid"].cells["D1001001"])
    tomorrow = date.today() + timedelta(days=1)
    with time_machine.travel(tomorrow, tick=False):
        old = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
        new = pull(client, auth_headers(db_session, zhao)).get_json()
    gone = keys(old)
    assert ("cell", field["grid"].cells["D1001001"].id, "delete") in gone
    assert ("premises", field["mine"].id, "delete") in gone
    assert ("task", field["task"].id, "delete") in gone
    assert all(op == "delete" for _, _, op in gone)
    assert ("premises", field["mine"].id) in {(t, i) for t, i, _ in keys(new)}


def test_a_newly_assigned_cell_arrives_in_the_next_pull(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    first = pull(client, headers).get_json()
    assign(db_session, field["admin"], field["wang"], field["grid"].cells["D2001001"])
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert page["scope"] != first["scope"]
    assert ("premises", field["other"].id, "upsert") in keys(page)
    assert ("cell", field["grid"].cells["D2001001"].id, "upsert") in keys(page)


def test_pages_are_bounded_and_follow_on(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    first = pull(client, headers).get_json()
    for n in range(5):
        update_premises(db_session, field["admin"], field["mine"].id,
                        {"contact_phone": f"11{n}"}, base_version=n + 1)
        create_task(db_session, field["admin"], kind="routine_patrol",
                    premises_id=field["mine"].id, due_date=date(2026, 12, 2 + n))
    seen, cursor, pages = [], first["next_cursor"], 0
    while True:
        page = pull(client, headers, cursor, first["scope"], limit=3).get_json()
        seen += keys(page)
        cursor, pages = page["next_cursor"], pages + 1
        assert len(page["items"]) <= 3
        if not page["has_more"]:
            break
    assert pages >= 3
    assert len([k for k in seen if k[0] == "task"]) == 5
    assert ("premises", field["mine"].id, "upsert") in seen


@pytest.mark.parametrize("cursor", ["garbage", "c1.x", "c9.1"])
def test_a_cursor_the_server_did_not_issue_is_a_400(client, db_session, field, cursor):
    response = pull(client, auth_headers(db_session, field["wang"]), cursor)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_cursor"


def test_a_cursor_beyond_the_feed_asks_for_a_resync(client, db_session, field):
    response = pull(client, auth_headers(db_session, field["wang"]), "c1.999999999")
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "resync_required"


def test_an_unknown_scope_version_asks_for_a_resync(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    first = pull(client, headers).get_json()
    response = pull(client, headers, first["next_cursor"], "not-a-scope-I-issued")
    assert response.status_code == 410


def test_the_submitter_learns_on_pull_that_a_record_is_complete(client, db_session, field):
    headers = auth_headers(db_session, field["wang"])
    photo = jpeg_bytes(3)
    sha = hashlib.sha256(photo).hexdigest()
    data = inspection_data(db_session, field["mine"], photos=[sha])
    data["device_time"] = data["device_time"].isoformat()
    client.post("/api/v1/inspections/", json=data, headers=headers)
    first = pull(client, headers).get_json()
    client.put(f"/api/v1/photos/{sha}", data=photo, headers=headers)
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    status = [item for item in page["items"] if item["type"] == "inspection_status"]
    assert len(status) == 1 and status[0]["data"]["complete"] is True
    assert status[0]["data"]["photos_missing"] == []
