"""Lists page by key: X-Next-Cursor leads from page to page, the pages add up to one full read,
a cursor this list did not issue is a 400 and nothing else; offset still works."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from server.services.tasks import create_task
from tests.factories import auth_headers, make_premises


def walk(client, headers, url, limit, **query):
    """Follow X-Next-Cursor from the first page to the last; return the pages' ids."""
    pages, cursor = [], None
    while True:
        args = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, query_string=args, headers=headers)
        assert response.status_code == 200, response.get_json()
        pages.append([row["id"] for row in response.get_json()])
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return pages
        assert len(pages) < 100


@pytest.fixture
def lots(db_session, world):
    """Seven more premises in wang's cell; a task on each, due on repeating days."""
    places = [make_premises(db_session, world.admin, world.grid.cells["D1001001"])
              for _ in range(7)]
    for number, place in enumerate([world.clinic, *places]):
        create_task(db_session, world.admin, kind="routine_patrol", premises_id=place.id,
                    due_date=date(2026, 12, 1 + number % 3))
    return places


@pytest.mark.parametrize("url", ["/api/v1/premises/", "/api/v1/tasks/", "/api/v1/cells/",
                                 "/api/v1/users/", "/api/v1/assignments/"])
@pytest.mark.parametrize("limit", [1, 3])
def test_cursor_pages_add_up_to_one_full_read(client, db_session, world, lots, url, limit):
    headers = auth_headers(db_session, world.chief)
    whole = [row["id"] for row in client.get(url, query_string={"limit": 1000},
                                             headers=headers).get_json()]
    assert len(whole) > 1
    limit = min(limit, len(whole) - 1)
    pages = walk(client, headers, url, limit)
    assert [row for page in pages for row in page] == whole
    assert all(len(page) == limit for page in pages[:-1]) and 0 < len(pages[-1]) <= limit


def test_the_last_page_has_no_cursor_and_offset_still_works(client, db_session, world, lots):
    headers = auth_headers(db_session, world.chief)
    whole = client.get("/api/v1/tasks/", query_string={"limit": 1000}, headers=headers)
    assert "X-Next-Cursor" not in whole.headers
    ids = [row["id"] for row in whole.get_json()]
    shifted = client.get("/api/v1/tasks/", query_string={"limit": 2, "offset": 3},
                         headers=headers)
    assert [row["id"] for row in shifted.get_json()] == ids[3:5]


def test_inspections_page_by_cursor(client, db_session, world, lots):
    from tests.factories import make_inspection

    for place in lots[:4]:
        make_inspection(db_session, world.wang, place)
    chief = auth_headers(db_session, world.chief)
    whole = [row["id"] for row in client.get("/api/v1/inspections/", headers=chief).get_json()]
    assert len(whole) == 4
    assert [i for page in walk(client, chief, "/api/v1/inspections/", 3) for i in page] == whole


@pytest.mark.parametrize("cursor", ["x", "a" * 1000, "eyJrIjoxfQ.bad", "1.2.3"])
def test_a_cursor_the_list_did_not_issue_is_a_400(client, db_session, world, lots, cursor):
    headers = auth_headers(db_session, world.chief)
    response = client.get("/api/v1/premises/", query_string={"cursor": cursor},
                          headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_cursor"


def test_a_cursor_of_another_list_or_tampered_is_a_400(client, db_session, world, lots):
    headers = auth_headers(db_session, world.chief)
    tasks = client.get("/api/v1/tasks/", query_string={"limit": 1}, headers=headers)
    cursor = tasks.headers["X-Next-Cursor"]
    other = client.get("/api/v1/cells/", query_string={"cursor": cursor}, headers=headers)
    assert other.status_code == 400 and other.get_json()["error"]["code"] == "bad_cursor"
    body, signature = cursor.rsplit(".", 1)
    forged = client.get("/api/v1/tasks/", headers=headers,
                        query_string={"cursor": body + "." + signature[::-1]})
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "bad_cursor"


def test_overdue_items_page_by_cursor(client, db_session, world, lots):
    url = "/api/v1/followups/overdue"
    query = {"min_days": 0}
    with time_machine.travel(datetime(2026, 12, 20, 9, 0, tzinfo=UTC), tick=False):
        headers = auth_headers(db_session, world.chief)  # signed in again after travelling
        response = client.get(url, query_string={**query, "limit": 1000}, headers=headers)
        assert response.status_code == 200, response.get_json()
        whole = [(row["kind"], row["id"]) for row in response.get_json()]
        assert len(whole) >= 8
        got, cursor = [], None
        while True:
            args = {**query, "limit": 3, **({"cursor": cursor} if cursor else {})}
            page = client.get(url, query_string=args, headers=headers)
            assert page.status_code == 200, page.get_json()
            got += [(row["kind"], row["id"]) for row in page.get_json()]
            cursor = page.headers.get("X-Next-Cursor")
            if cursor is None:
                break
        assert got == whole
