"""Hostile or malformed requests get a clear 4xx on both databases, never a 500."""

import pytest

from server.models import GridMap, User
from tests.factories import auth_headers, make_user
from tests.pages import csrf_token

BIG = 99999999999999999999


@pytest.fixture
def headers(db_session):
    return auth_headers(db_session, make_user(db_session, "admin", "root"))


@pytest.mark.parametrize("url", [
    f"/api/v1/cells/{BIG}", f"/api/v1/users/{2**31}", f"/api/v1/maps/{BIG}",
    f"/api/v1/assignments/{BIG}",
])
def test_out_of_range_ids_in_paths_are_not_found(client, headers, url):
    response = client.get(url, headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", [f"offset={2**63}", f"map_id={BIG}", "limit=0", "limit=abc",
                                   "level=planet", "parent_id=-1"])
def test_bad_query_strings_are_422_naming_the_parameter(client, headers, query):
    response = client.get(f"/api/v1/cells/?{query}", headers=headers)
    assert response.status_code == 422
    assert query.split("=")[0] in str(response.get_json()["error"]["details"])


@pytest.mark.parametrize("body", [
    {"jurisdiction_code": "A", "name": "x\x00y"},
    {"jurisdiction_code": "A/../B", "name": "x"},
    {"jurisdiction_code": "A", "name": "x" * 129},
])
def test_bad_text_is_refused_and_nothing_is_stored(client, headers, db_session, body):
    response = client.post("/api/v1/maps/", json=body, headers=headers)
    assert response.status_code == 422
    assert db_session.query(GridMap).count() == 0


def test_ids_too_large_for_the_database_are_refused_in_bodies(client, headers):
    response = client.post("/api/v1/assignments/", json={"user_id": BIG, "cell_id": 1},
                           headers=headers)
    assert response.status_code == 422
    assert "user_id" in response.get_json()["error"]["details"]["json"]


def test_deeply_nested_json_is_a_400(client):
    body = "[" * 100000 + "]" * 100000
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_non_utf8_json_body_is_a_400(client, headers, db_session):
    response = client.post("/api/v1/maps/", data=b"\xff\xfe{", content_type="application/json",
                           headers=headers)
    assert response.status_code == 400
    assert db_session.query(GridMap).count() == 0


@pytest.mark.parametrize("username", ["x" * 500, "wang\x00"])
def test_odd_usernames_on_the_sign_in_page_are_plain_failures(client, db_session, username):
    response = client.post("/login", data={"username": username, "password": "whatever",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401


def test_nul_in_a_new_password_is_refused(client, headers, db_session):
    response = client.post("/api/v1/users/", json={
        "username": "abc", "password": "12345678\x00", "role": "officer"}, headers=headers)
    assert response.status_code == 422
    assert db_session.query(User).filter_by(username="abc").count() == 0


HUGE_INTEGER = "9" * 5000  # past Python's 4,300-digit limit on turning text into an int


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("url", ["/api/v1/auth/token", "/api/v1/sync/push", "/api/v1/premises/",
                                 "/api/v1/maps/", "/api/v1/devices/"])
def test_a_json_integer_too_long_to_read_is_a_400(client, headers, db_session, url, signed_in):
    body = '{"records": [], "username": "x", "jurisdiction_code": ' + HUGE_INTEGER + "}"
    response = client.post(url, data=body, content_type="application/json",
                           headers=headers if signed_in else {})
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"]["code"] == "bad_json"
    assert db_session.query(GridMap).count() == 0


def test_a_long_run_of_digits_inside_a_string_is_read_as_text(client, headers, db_session):
    body = '{"jurisdiction_code": "A", "name": "' + HUGE_INTEGER + '"}'
    response = client.post("/api/v1/maps/", data=body, content_type="application/json",
                           headers=headers)
    assert response.status_code == 422
    assert "name" in response.get_json()["error"]["details"]["json"]


@pytest.mark.parametrize("body", [
    '{"\\ud800": 1, "jurisdiction_code": "A", "name": "x"}',  # echoed back as an unknown field
    '{"jurisdiction_code": "A", "name": "x\\ud800"}',  # text no database can store
])
def test_lone_surrogates_are_refused_and_the_answer_is_still_json(client, headers, db_session,
                                                                  body):
    response = client.post("/api/v1/maps/", data=body, content_type="application/json",
                           headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert db_session.query(GridMap).count() == 0


def test_errors_listed_by_index_and_by_schema_at_once_are_a_422_not_a_500(client, db_session):
    """A list whose item is refused (key 0) and whose whole is refused ("_schema") at once."""
    from tests.factories import auth_headers, make_user

    admin = make_user(db_session, "admin", "keys_admin")
    response = client.post("/api/v1/maps/", json={"jurisdiction_code": "X1", "name": "x",
                                                   "levels": [None]},
                           headers=auth_headers(db_session, admin))
    assert response.status_code == 422, response.get_data(as_text=True)
    levels = response.get_json()["error"]["details"]["json"]["levels"]
    assert "0" in levels
