"""Importing grid levels through the API: good files store cells, bad ones store nothing."""

import json

import pytest
from shapely.geometry import Point, Polygon, box

from server.models import GridCell, GridMap
from tests.factories import DISTRICTS, as_bytes, auth_headers, feature_collection, make_user

WUHAI = "wuhai-districts.geojson"


@pytest.fixture
def admin(db_session):
    return make_user(db_session, "admin")


@pytest.fixture
def headers(db_session, admin):
    return auth_headers(db_session, admin)


@pytest.fixture
def draft(client, headers):
    response = client.post("/api/v1/maps/", json={"jurisdiction_code": "150300", "name": "乌海"},
                           headers=headers)
    assert response.status_code == 201
    return response.get_json()


def upload(client, headers, map_id, body, **params):
    query = "&".join(f"{k}={v}" for k, v in {"level": "district", **params}.items())
    return client.post(f"/api/v1/maps/{map_id}/levels?{query}", data=body, headers={
        **headers, "Content-Type": "application/geo+json"})


def cell_count(db_session):
    return db_session.query(GridCell).count()


def test_real_districts_import_with_chosen_properties(client, headers, draft, db_session):
    from tests.conftest import BOUNDARIES

    body = (BOUNDARIES / WUHAI).read_bytes()
    response = upload(client, headers, draft["id"], body, code_property="gb", name_property="name")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["cell_count"] == 3
    names = {c.name for c in db_session.query(GridCell).filter_by(map_id=draft["id"])}
    assert names == {"海勃湾区", "乌达区", "海南区"}


def test_streets_link_to_districts_by_parent_code(client, headers, draft, db_session):
    upload(client, headers, draft["id"], as_bytes(feature_collection(DISTRICTS)))
    streets = feature_collection([("S1", "一街", box(106.0, 39.0, 106.05, 39.1)),
                                  ("S2", "二街", box(106.05, 39.0, 106.1, 39.1)),
                                  ("S3", "三街", box(106.1, 39.0, 106.2, 39.1))])
    for feature, parent in zip(streets["features"], ("D1", "D1", "D2")):
        feature["properties"]["district"] = parent
    response = upload(client, headers, draft["id"], as_bytes(streets), level="street",
                      parent_property="district")
    assert response.status_code == 201, response.get_json()
    parents = {c.code: c.parent.code for c in
               db_session.query(GridCell).filter_by(map_id=draft["id"], level="street")}
    assert parents == {"S1": "D1", "S2": "D1", "S3": "D2"}


def test_streets_link_to_districts_by_containment(client, headers, draft, db_session):
    upload(client, headers, draft["id"], as_bytes(feature_collection(DISTRICTS)))
    streets = feature_collection([("S1", "一街", box(106.0, 39.0, 106.1, 39.1)),
                                  ("S3", "三街", box(106.1, 39.0, 106.2, 39.1))])
    response = upload(client, headers, draft["id"], as_bytes(streets), level="street")
    assert response.status_code == 201, response.get_json()
    parents = {c.code: c.parent.code for c in
               db_session.query(GridCell).filter_by(map_id=draft["id"], level="street")}
    assert parents == {"S1": "D1", "S3": "D2"}


def _error_codes(response):
    details = response.get_json()["error"]["details"] or {}
    return {problem["code"] for problem in details.get("errors", [])}


BOWTIE = Polygon([(106.0, 39.0), (106.1, 39.1), (106.1, 39.0), (106.0, 39.1), (106.0, 39.0)])
BAD_FILES = {
    "malformed_json": (b'{"type": "FeatureCollection", "features": [', "malformed_json"),
    "not_a_feature_collection": (json.dumps({"type": "Feature", "geometry": None}).encode(),
                                 "not_feature_collection"),
    "non_polygon": (as_bytes(feature_collection([("P", "点", Point(106.0, 39.0))])), "not_polygon"),
    "self_intersecting": (as_bytes(feature_collection([("B", "蝴蝶", BOWTIE)])), "invalid_geometry"),
    "projected_metres": (as_bytes(feature_collection([("M", "米", box(500000, 4400000, 510000, 4410000))])),
                         "coordinates_out_of_range"),
    "empty_geometry": (as_bytes(feature_collection(
        [("E", "空", {"type": "Polygon", "coordinates": []})])), "empty_geometry"),
    "duplicate_codes": (as_bytes(feature_collection(
        [("D1", "甲", box(106.0, 39.0, 106.1, 39.1)), ("D1", "乙", box(106.1, 39.0, 106.2, 39.1))])),
        "duplicate_code"),
    "overlapping_siblings": (as_bytes(feature_collection(
        [("D1", "甲", box(106.0, 39.0, 106.1, 39.1)), ("D2", "乙", box(106.05, 39.0, 106.2, 39.1))])),
        "overlap"),
}

NOT_GEOJSON = {"malformed_json", "not_a_feature_collection"}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_refused_naming_the_problem_and_stores_nothing(case, client, headers, draft,
                                                                    db_session):
    body, expected = BAD_FILES[case]
    before = cell_count(db_session)
    response = upload(client, headers, draft["id"], body)
    # A file that is not a GeoJSON FeatureCollection is a bad request; a readable one with
    # bad cells is unprocessable.
    assert response.status_code == (400 if case in NOT_GEOJSON else 422)
    error = response.get_json()["error"]
    assert error["code"] == expected or expected in _error_codes(response), error
    assert cell_count(db_session) == before


def test_overlap_error_gives_area_and_location(client, headers, draft):
    body, _ = BAD_FILES["overlapping_siblings"]
    problem = next(p for p in upload(client, headers, draft["id"], body).get_json()["error"]
                   ["details"]["errors"] if p["code"] == "overlap")
    assert problem["area_m2"] > 1e6
    assert {problem["cell_code"], problem["other_code"]} == {"D1", "D2"}
    lon, lat = problem["point"]
    assert 106.05 <= lon <= 106.1 and 39.0 <= lat <= 39.1


def test_unknown_parent_code_is_refused_and_stores_nothing(client, headers, draft, db_session):
    upload(client, headers, draft["id"], as_bytes(feature_collection(DISTRICTS)))
    before = cell_count(db_session)
    streets = feature_collection([("S1", "一街", box(106.0, 39.0, 106.1, 39.1))],
                                 extra={"district": "NOPE"})
    response = upload(client, headers, draft["id"], as_bytes(streets), level="street",
                      parent_property="district")
    assert response.status_code == 422
    assert "unknown_parent" in _error_codes(response)
    assert cell_count(db_session) == before


def test_repair_flag_stores_a_repaired_bowtie_and_reports_it(client, headers, draft, db_session):
    body, _ = BAD_FILES["self_intersecting"]
    response = upload(client, headers, draft["id"], body, repair="true")
    assert response.status_code == 201, response.get_json()
    assert [r["action"] for r in response.get_json()["repairs"]] == ["make_valid"]
    assert db_session.query(GridCell).filter_by(map_id=draft["id"]).count() == 1


def test_upload_over_the_size_limit_is_refused_with_413(client, app, headers, draft, db_session):
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = b" " * (200 * 1024 * 1024) if limit < 200 * 1024 * 1024 else b" " * (limit + 1)
    response = upload(client, headers, draft["id"], big)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_too_large"
    assert cell_count(db_session) == 0


def test_importing_needs_the_admin_role(client, db_session, draft):
    supervisor = make_user(db_session, "supervisor")
    response = upload(client, auth_headers(db_session, supervisor), draft["id"],
                      as_bytes(feature_collection(DISTRICTS)))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "role_required"
    assert cell_count(db_session) == 0


def test_active_map_cannot_change(client, headers, draft, db_session):
    upload(client, headers, draft["id"], as_bytes(feature_collection(DISTRICTS)))
    assert client.post(f"/api/v1/maps/{draft['id']}/activate", headers=headers).status_code == 200
    response = upload(client, headers, draft["id"], as_bytes(feature_collection(DISTRICTS)),
                      level="street")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "map_not_draft"
    assert db_session.get(GridMap, draft["id"]).status == "active"
