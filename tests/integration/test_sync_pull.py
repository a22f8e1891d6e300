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
    make_premises,
    make_user,
)


@pytest.fixture(autouse=True)
def task(db_session, world):
    """Every test here starts from the shared world with an open patrol task at wang's clinic."""
    return create_task(db_session, world.admin, kind="routine_patrol",
                       premises_id=world.clinic.id, due_date=date(2026, 12, 1))


def pull(client, headers, cursor=None, scope=None, limit=None):
    query = {k: v for k, v in {"cursor": cursor, "scope": scope, "limit": limit}.items() if v}
    return client.get("/api/v1/sync/pull", query_string=query, headers=headers)


def keys(page):
    return [(item["type"], item["id"], item["op"]) for item in page["items"]]


def test_first_pull_is_everything_in_scope_and_nothing_else(client, db_session, world, task):
    page = pull(client, auth_headers(db_session, world.wang)).get_json()
    assert page["reset"] is True and page["has_more"] is False
    kinds = {(t, i) for t, i, _ in keys(page)}
    assert ("cell", world.grid.cells["D1001001"].id) in kinds
    assert ("premises", world.clinic.id) in kinds
    assert ("premises", world.foreign_clinic.id) not in kinds
    assert ("task", task.id) in kinds
    assert {t for t, _ in kinds} == {"cell", "premises", "task", "checklist"}
    assert all(c == world.grid.cells["D1001001"].id for t, c in kinds if t == "cell")


def test_a_later_pull_returns_only_what_changed_in_scope(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": "110"},
                    base_version=1)
    update_premises(db_session, world.admin, world.foreign_clinic.id, {"contact_phone": "120"},
                    base_version=1)
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert keys(page) == [("premises", world.clinic.id, "upsert")]
    assert page["items"][0]["data"]["contact_phone"] == "110"
    empty = pull(client, headers, page["next_cursor"], page["scope"]).get_json()
    assert empty["items"] == [] and empty["next_cursor"] == page["next_cursor"]


def test_premises_moved_out_of_scope_becomes_a_tombstone(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    update_premises(db_session, world.admin, world.clinic.id, {"lon": 106.15, "lat": 39.05},
                    base_version=1)
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert ("premises", world.clinic.id, "delete") in keys(page)
    assert all(item["data"] is None for item in page["items"] if item["op"] == "delete")


def test_a_cancelled_task_becomes_a_tombstone(client, db_session, world, task):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    cancel_task(db_session, world.admin, task.id, reason="停业")
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert keys(page) == [("task", task.id, "delete")]


def test_after_reassignment_the_old_coordinator_gets_tombstones(client, db_session, world, task):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    successor = make_user(db_session, "coordinator", "qian")
    end_assignment(db_session, world.admin, world.assignments["wang"].id)
    assign(db_session, world.admin, successor, world.grid.cells["D1001001"])
    tomorrow = date.today() + timedelta(days=1)
    with time_machine.travel(tomorrow, tick=False):
        # A token issued now may have expired by tomorrow morning: sign in again then.
        headers = auth_headers(db_session, world.wang)
        old = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
        new = pull(client, auth_headers(db_session, successor)).get_json()
    gone = keys(old)
    assert ("cell", world.grid.cells["D1001001"].id, "delete") in gone
    assert ("premises", world.clinic.id, "delete") in gone
    assert ("task", task.id, "delete") in gone
    assert all(op == "delete" for _, _, op in gone)
    assert ("premises", world.clinic.id) in {(t, i) for t, i, _ in keys(new)}


def test_a_newly_assigned_cell_arrives_in_the_next_pull(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    assign(db_session, world.admin, world.wang, world.grid.cells["D2001001"])
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert page["scope"] != first["scope"]
    assert ("premises", world.foreign_clinic.id, "upsert") in keys(page)
    assert ("cell", world.grid.cells["D2001001"].id, "upsert") in keys(page)


def test_pages_are_bounded_and_follow_on(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    for n in range(5):
        update_premises(db_session, world.admin, world.clinic.id,
                        {"contact_phone": f"11{n}"}, base_version=n + 1)
        create_task(db_session, world.admin, kind="routine_patrol",
                    premises_id=world.clinic.id, due_date=date(2026, 12, 2 + n))
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
    assert ("premises", world.clinic.id, "upsert") in seen


@pytest.mark.parametrize("cursor", ["garbage", "c1.x", "c9.1"])
def test_a_cursor_the_server_did_not_issue_is_a_400(client, db_session, world, cursor):
    response = pull(client, auth_headers(db_session, world.wang), cursor)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_cursor"


def test_a_cursor_beyond_the_feed_asks_for_a_resync(client, db_session, world):
    response = pull(client, auth_headers(db_session, world.wang), "c1.999999999")
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "resync_required"


def test_an_unknown_scope_version_asks_for_a_resync(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    response = pull(client, headers, first["next_cursor"], "not-a-scope-I-issued")
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "resync_required"


def test_the_submitter_learns_on_pull_that_a_record_is_complete(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    photo = jpeg_bytes(3)
    sha = hashlib.sha256(photo).hexdigest()
    data = inspection_data(db_session, world.clinic, photos=[sha])
    data["device_time"] = data["device_time"].isoformat()
    client.post("/api/v1/inspections/", json=data, headers=headers)
    first = pull(client, headers).get_json()
    client.put(f"/api/v1/photos/{sha}", data=photo, headers=headers)
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    status = [item for item in page["items"] if item["type"] == "inspection_status"]
    assert len(status) == 1 and status[0]["data"]["complete"] is True
    assert status[0]["data"]["photos_missing"] == []


def pull_all(client, headers, cursor=None, scope=None, limit=3):
    """Pull until has_more is false; return (pages, last page)."""
    pages = []
    while True:
        page = pull(client, headers, cursor, scope, limit=limit)
        assert page.status_code == 200, page.get_json()
        page = page.get_json()
        pages.append(page)
        cursor, scope = page["next_cursor"], page["scope"]
        if not page["has_more"]:
            return pages, page


def more_premises(db_session, world, count, cell="D1001001"):
    return [make_premises(db_session, world.admin, world.grid.cells[cell])
            for _ in range(count)]


def test_the_first_pull_comes_in_bounded_pages_that_add_up_to_the_whole_scope(
        client, db_session, world):
    more_premises(db_session, world, 7)
    headers = auth_headers(db_session, world.wang)
    whole = pull(client, headers, limit=1000).get_json()
    pages, last = pull_all(client, headers, limit=3)
    assert len(pages) >= -(-len(whole["items"]) // 3) and len(pages) > 3
    assert all(len(page["items"]) <= 3 for page in pages)
    assert [page["reset"] for page in pages] == [True] + [False] * (len(pages) - 1)
    paged = [key for page in pages for key in keys(page)]
    assert sorted(paged) == sorted(keys(whole)) and len(set(paged)) == len(paged)
    assert last["next_cursor"] == whole["next_cursor"] and last["next_cursor"].startswith("c1.")
    assert all(page["next_cursor"].startswith("s1.") for page in pages[:-1])


def test_a_change_to_what_the_snapshot_already_sent_arrives_after_it(client, db_session, world):
    more_premises(db_session, world, 4)
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers, limit=2).get_json()
    assert first["has_more"] and ("premises", world.clinic.id, "upsert") in keys(first)
    update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": "12345"},
                    base_version=1)
    pages, _ = pull_all(client, headers, first["next_cursor"], first["scope"], limit=2)
    sent = [item for page in pages for item in page["items"]
            if (item["type"], item["id"]) == ("premises", world.clinic.id)]
    assert sent and sent[-1]["data"]["contact_phone"] == "12345"


def test_a_scope_change_in_the_middle_of_the_snapshot_restarts_it(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers, limit=1).get_json()
    assert first["has_more"] and first["next_cursor"].startswith("s1.")
    assign(db_session, world.admin, world.wang, world.grid.cells["D2001001"])
    response = pull(client, headers, first["next_cursor"], first["scope"], limit=1)
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "resync_required"


def test_what_enters_and_leaves_the_scope_comes_in_bounded_pages(client, db_session, world):
    incoming = more_premises(db_session, world, 3, cell="D2001001")
    headers = auth_headers(db_session, world.wang)
    _, done = pull_all(client, headers, limit=50)
    assign(db_session, world.admin, world.wang, world.grid.cells["D2001001"])
    pages, last = pull_all(client, headers, done["next_cursor"], done["scope"], limit=1)
    assert all(len(page["items"]) <= 1 for page in pages) and len(pages) >= 5
    got = {(t, i, op) for page in pages for t, i, op in keys(page)}
    assert ("cell", world.grid.cells["D2001001"].id, "upsert") in got
    for premises in [world.foreign_clinic, *incoming]:
        assert ("premises", premises.id, "upsert") in got
    assert ("premises", world.clinic.id, "upsert") not in got  # it never left
    assert last["scope"] != done["scope"] and last["next_cursor"].startswith("c1.")


@pytest.mark.parametrize("cursor", ["s1.0.9.0.{scope}.-", "s1.0.0.0.{scope}.x-y",
                                    "s1.0.0.0.{scope}.{scope}.7"])
def test_a_snapshot_cursor_the_server_did_not_issue_is_a_400(client, db_session, world, cursor):
    headers = auth_headers(db_session, world.wang)
    scope = pull(client, headers).get_json()["scope"]
    response = pull(client, headers, cursor.format(scope=scope))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_cursor"


def test_a_snapshot_cursor_beyond_the_feed_asks_for_a_resync(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    scope = pull(client, headers).get_json()["scope"]
    response = pull(client, headers, f"s1.999999999.0.0.{scope}.-")
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "resync_required"


def test_a_cursor_older_than_the_pruned_feed_asks_for_a_resync(client, db_session, world, runner):
    from server.models import AuditEvent, ChangeEvent, FeedPrune

    headers = auth_headers(db_session, world.wang)
    _, old = pull_all(client, headers, limit=100)
    update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": "1"},
                    base_version=1)
    _, current = pull_all(client, headers, old["next_cursor"], old["scope"])
    nothing = runner.invoke(args=["sync", "prune"])
    assert nothing.exit_code == 0 and "Nothing to prune" in nothing.output
    assert db_session.query(FeedPrune).count() == 0
    with time_machine.travel(date.today() + timedelta(days=91)):
        headers = auth_headers(db_session, world.wang)
        result = runner.invoke(args=["sync", "prune", "--older-than-days", "90"])
        assert result.exit_code == 0, result.output
        assert "Pruned" in result.output
        assert db_session.query(ChangeEvent).count() == 0
        gone = pull(client, headers, old["next_cursor"], old["scope"])
        assert gone.status_code == 410
        assert gone.get_json()["error"]["code"] == "resync_required"
        # A terminal that was up to date goes on, and sees what changes next.
        update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": "2"},
                        base_version=2)
        page = pull(client, headers, current["next_cursor"], current["scope"]).get_json()
        assert keys(page) == [("premises", world.clinic.id, "upsert")]
        # And one told to resync gets everything again.
        again, _ = pull_all(client, headers, limit=100)
        assert ("premises", world.clinic.id) in {(t, i) for p in again for t, i, _ in keys(p)}
    assert db_session.query(AuditEvent).filter_by(action="sync.prune_feed").count() == 1


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_a_bad_prune_age_is_refused_and_prunes_nothing(runner, db_session, world, days):
    from server.models import ChangeEvent

    before = db_session.query(ChangeEvent).count()
    result = runner.invoke(args=["sync", "prune", "--older-than-days", days])
    assert result.exit_code == 2 and "--older-than-days" in result.output
    assert db_session.query(ChangeEvent).count() == before


def test_a_prune_landing_while_a_pull_reads_still_asks_for_a_resync(client, db_session, world,
                                                                    runner, monkeypatch):
    from server.services import pull as pull_service

    headers = auth_headers(db_session, world.wang)
    _, old = pull_all(client, headers, limit=100)
    update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": "1"},
                    base_version=1)
    with time_machine.travel(date.today() + timedelta(days=91)):
        headers = auth_headers(db_session, world.wang)
        assert runner.invoke(args=["sync", "prune"]).exit_code == 0
        real, calls = pull_service.feed_floor, []

        def floor_read_before_the_prune_committed(session):
            calls.append(session)
            return 0 if len(calls) == 1 else real(session)

        monkeypatch.setattr(pull_service, "feed_floor", floor_read_before_the_prune_committed)
        response = pull(client, headers, old["next_cursor"], old["scope"])
    assert len(calls) == 2
    assert response.status_code == 410, response.get_json()
    assert response.get_json()["error"]["code"] == "resync_required"


def test_a_new_orphan_sends_no_tombstone_to_unrelated_terminals(client, db_session, world):
    from server.services.premises import create_premises

    headers = auth_headers(db_session, world.wang)
    first = pull(client, headers).get_json()
    admin_headers = auth_headers(db_session, world.admin)
    admin_first = pull(client, admin_headers).get_json()
    orphan = create_premises(db_session, world.admin, {
        "name": "界外诊所", "category_code": "clinic", "ownership": "private",
        "licence_no": "ORPHAN-1", "address": "界外", "lon": 110.0, "lat": 40.0})
    assert orphan.cell_id is None
    update_premises(db_session, world.admin, orphan.id, {"contact_phone": "110"},
                    base_version=1)
    task = create_task(db_session, world.admin, kind="routine_patrol",
                       premises_id=orphan.id, due_date=date(2026, 12, 1))
    page = pull(client, headers, first["next_cursor"], first["scope"]).get_json()
    assert page["items"] == []
    # Admins see every premises, orphans included: theirs arrive as usual.
    admin_page = pull(client, admin_headers, admin_first["next_cursor"],
                      admin_first["scope"]).get_json()
    assert keys(admin_page) == [("premises", orphan.id, "upsert"), ("task", task.id, "upsert")]
