"""Pulls that cost what changed: snapshot pages read by key, a long delta answered by a
snapshot, nothing lost or sent twice while changes arrive between pages."""

from datetime import date

import pytest

from server.services import pull as pull_service
from server.services.premises import premises_query, update_premises
from server.services.tasks import create_task
from tests.factories import auth_headers, make_premises


def pull(client, headers, cursor=None, scope=None, limit=None):
    query = {k: v for k, v in {"cursor": cursor, "scope": scope, "limit": limit}.items() if v}
    response = client.get("/api/v1/sync/pull", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def keys(page):
    return [(item["type"], item["id"], item["op"]) for item in page["items"]]


def pull_all(client, headers, cursor=None, scope=None, limit=3, between=None):
    """Pull until has_more is false, calling between(page number) after each page."""
    pages = []
    while True:
        page = pull(client, headers, cursor, scope, limit=limit)
        pages.append(page)
        cursor, scope = page["next_cursor"], page["scope"]
        if between:
            between(len(pages))
        if not page["has_more"]:
            return pages


def apply(pages, local=None):
    """Apply pages as a terminal does (sync/outbox.py apply_pull): {(type, id): data}."""
    local = {} if local is None else local
    for page in pages:
        if page["reset"]:
            local.clear()
        for item in page["items"]:
            if item["op"] == "delete":
                local.pop((item["type"], item["id"]), None)
            else:
                local[(item["type"], item["id"])] = item["data"]
    return local


def more_premises(db_session, world, count, cell="D1001001"):
    return [make_premises(db_session, world.admin, world.grid.cells[cell]) for _ in range(count)]


@pytest.fixture
def scene(db_session, world):
    """wang's cell with nine premises and an open task on each of three of them."""
    premises = [world.clinic, *more_premises(db_session, world, 8)]
    for number, place in enumerate(premises[:3]):
        create_task(db_session, world.admin, kind="routine_patrol", premises_id=place.id,
                    due_date=date(2026, 12, 1 + number))
    return premises


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_snapshot_pages_hold_exactly_the_items_of_one_full_read(client, db_session, world,
                                                                  scene, limit):
    headers = auth_headers(db_session, world.wang)
    whole = pull(client, headers, limit=1000)
    assert not whole["has_more"]
    pages = pull_all(client, headers, limit=limit)
    paged = [key for page in pages for key in keys(page)]
    assert paged == keys(whole)  # same items, same order, none twice
    assert all(len(page["items"]) <= limit for page in pages)
    premises_ids = {i for t, i, _ in paged if t == "premises"}
    assert premises_ids == {p.id for p in db_session.scalars(premises_query(world.wang))}
    # Page N starts where page N-1 ended: its first item is the next one of the full read.
    offset = 0
    for page in pages:
        assert keys(page) == keys(whole)[offset:offset + len(page["items"])]
        offset += len(page["items"])


def test_a_delta_with_more_changes_than_the_scope_is_answered_by_a_snapshot(
        client, db_session, world, scene, monkeypatch):
    monkeypatch.setattr(pull_service, "SNAPSHOT_FLOOR", 3)
    headers = auth_headers(db_session, world.wang)
    first = pull_all(client, headers, limit=1000)
    local = apply(first)
    size = len(local)
    for n in range(size + 2):  # more visible changes than the scope holds items
        update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": f"9{n}"},
                        base_version=n + 1)
    pages = pull_all(client, headers, first[-1]["next_cursor"], first[-1]["scope"], limit=4)
    assert pages[0]["reset"] is True and pages[0]["next_cursor"].startswith("s1.")
    assert sum(len(page["items"]) for page in pages) == size  # not one item per change
    apply(pages, local)
    fresh = apply(pull_all(client, headers, limit=1000))
    assert local == fresh and local[("premises", world.clinic.id)]["contact_phone"] == \
        f"9{size + 1}"
    again = pull(client, headers, pages[-1]["next_cursor"], pages[-1]["scope"])
    assert again["items"] == [] and not again["has_more"] and again["reset"] is False


def test_a_delta_with_fewer_changes_than_the_scope_stays_a_delta(client, db_session, world,
                                                                 scene, monkeypatch):
    monkeypatch.setattr(pull_service, "SNAPSHOT_FLOOR", 3)
    headers = auth_headers(db_session, world.wang)
    first = pull_all(client, headers, limit=1000)
    for n in range(5):
        update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": f"8{n}"},
                        base_version=n + 1)
    page = pull(client, headers, first[-1]["next_cursor"], first[-1]["scope"], limit=100)
    assert page["reset"] is False and keys(page) == [("premises", world.clinic.id, "upsert")]


def test_changes_between_snapshot_pages_are_neither_lost_nor_sent_twice(client, db_session,
                                                                        world, scene):
    headers = auth_headers(db_session, world.wang)
    made = []

    def change(page_number):
        if page_number == 2:  # one already sent, one not yet, one new, one leaving
            update_premises(db_session, world.admin, scene[0].id, {"contact_phone": "1"},
                            base_version=1)
            update_premises(db_session, world.admin, scene[-1].id, {"contact_phone": "2"},
                            base_version=1)
            made.extend(more_premises(db_session, world, 2))
            update_premises(db_session, world.admin, scene[4].id,
                            {"lon": 116.60, "lat": 39.80}, base_version=1)

    pages = pull_all(client, headers, limit=2, between=change)
    snapshot = [key for page in pages if page["next_cursor"].startswith("s1.") for key in
                keys(page)]
    assert len(snapshot) == len(set(snapshot))
    local = apply(pages)
    fresh = apply(pull_all(client, headers, limit=1000))
    assert local == fresh
    assert {p.id for p in made} <= {i for t, i in local if t == "premises"}
    assert ("premises", scene[4].id) not in local
    assert local[("premises", scene[0].id)]["contact_phone"] == "1"
    assert local[("premises", scene[-1].id)]["contact_phone"] == "2"


def test_changes_between_pages_of_a_delta_turned_snapshot_are_not_lost(
        client, db_session, world, scene, monkeypatch):
    monkeypatch.setattr(pull_service, "SNAPSHOT_FLOOR", 3)
    headers = auth_headers(db_session, world.wang)
    first = pull_all(client, headers, limit=1000)
    local = apply(first)
    for n in range(len(local) + 2):
        update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": f"7{n}"},
                        base_version=n + 1)
    version = len(local) + 3

    def change(page_number):
        if page_number == 1:
            update_premises(db_session, world.admin, world.clinic.id, {"contact_phone": "last"},
                            base_version=version)
            more_premises(db_session, world, 1)

    pages = pull_all(client, headers, first[-1]["next_cursor"], first[-1]["scope"], limit=3,
                     between=change)
    assert pages[0]["reset"] is True
    apply(pages, local)
    assert local == apply(pull_all(client, headers, limit=1000))
    assert local[("premises", world.clinic.id)]["contact_phone"] == "last"


def test_a_long_delta_counts_its_scope_once_per_worker_and_period(client, db_session, world,
                                                                   scene, monkeypatch, app):
    """Deciding snapshot or delta counts the scope; a terminal catching up page by page must
    not pay that count on every page (PULL_SCOPE_SIZE_SECONDS), and the answer is the same."""
    monkeypatch.setattr(pull_service, "SNAPSHOT_FLOOR", 3)
    monkeypatch.setitem(app.config, "PULL_SCOPE_SIZE_SECONDS", 600)
    monkeypatch.setattr(pull_service, "_sizes", pull_service.BuildOnceCache())
    counted = []
    real = pull_service.scope_size
    monkeypatch.setattr(pull_service, "scope_size",
                        lambda session, user: counted.append(user.id) or real(session, user))
    headers = auth_headers(db_session, world.wang)
    first = pull_all(client, headers, limit=1000)
    for n in range(5):  # fewer changes than the scope holds (9 premises, cells, tasks)
        update_premises(db_session, world.admin, scene[n].id, {"contact_phone": f"8{n}"},
                        base_version=1)
    pages = pull_all(client, headers, first[-1]["next_cursor"], first[-1]["scope"], limit=1)
    assert len(pages) == 5 and not any(page["reset"] for page in pages)
    assert sorted(key for page in pages for key in keys(page)) == sorted(
        ("premises", place.id, "upsert") for place in scene[:5])
    assert counted == [world.wang.id]
