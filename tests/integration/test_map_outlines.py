"""The map page's data: one level at a time, simplified for the zoom, gzipped, an ETag by map
version, level, zoom and scope; a coordinator still gets only their cells."""

import gzip
import json
import time

from server.services import grid as grid_service
from tests.factories import PASSWORD, assign, make_grid, make_user
from tests.integration.test_pages_and_docs import csrf_token

INNER_MONGOLIA = "/work/shared/data/inner-mongolia-districts.geojson"


def sign_in(client, username):
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302


def features(response):
    body = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)["features"]


def test_a_coordinator_gets_only_their_cells_level_by_level(client, db_session):
    grid = make_grid(db_session)
    coordinator = make_user(db_session, "coordinator", "wang")
    assign(db_session, make_user(db_session, "admin"), coordinator, grid.cells["D2001"])
    sign_in(client, "wang")
    levels = client.get("/map/levels.json").get_json()
    assert [(l["code"], l["cells"]) for l in levels["levels"]] == [("street", 1),
                                                                    ("community", 2)]
    west, south, east, north = levels["bbox"]  # the street's, inside district D2
    assert 106.1 - 1e-9 <= west < east <= 106.2 + 1e-9 and 39.0 - 1e-9 <= south < north
    street = client.get("/map/cells.geojson?level=street&zoom=12")
    assert [f["properties"]["code"] for f in features(street)] == ["D2001"]
    communities = client.get("/map/cells.geojson?level=community")
    assert sorted(f["properties"]["code"] for f in features(communities)) == ["D2001001",
                                                                             "D2001002"]
    assert features(client.get("/map/cells.geojson?level=district")) == []
    assert client.get("/map/cells.geojson?level=nation").status_code == 422
    assert client.get("/map/cells.geojson?level=street&zoom=19").status_code == 422
    assert client.get("/map/cells.geojson?level=street&zoom=-1").status_code == 422


def test_a_matching_etag_answers_304_and_another_zoom_or_scope_does_not(client, db_session):
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    coordinator = make_user(db_session, "coordinator", "wang")
    assign(db_session, admin, coordinator, grid.cells["D2001"])
    sign_in(client, "wang")
    first = client.get("/map/cells.geojson?level=community&zoom=12")
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('W/"')
    assert "private" in first.headers["Cache-Control"]
    again = client.get("/map/cells.geojson?level=community&zoom=12",
                       headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == tag
    other_zoom = client.get("/map/cells.geojson?level=community&zoom=13",
                            headers={"If-None-Match": tag})
    assert other_zoom.status_code == 200
    assign(db_session, admin, coordinator, grid.cells["D1001"])  # the scope grows
    wider = client.get("/map/cells.geojson?level=community&zoom=12",
                       headers={"If-None-Match": tag})
    assert wider.status_code == 200 and len(features(wider)) == 4


def test_the_inner_mongolia_districts_at_full_extent_are_well_under_a_megabyte(client,
                                                                               db_session):
    grid_map = grid_service.create_map(db_session, jurisdiction_code="150000", name="内蒙古")
    with open(INNER_MONGOLIA, "rb") as source:
        grid_service.import_level(db_session, grid_map, source.read(), level="district",
                                  code_property="gb", root={"code": "156150000",
                                                            "name": "内蒙古自治区",
                                                            "level": "province"},
                                  tolerance_m2=1e12, repair=True)
    grid_service.activate_map(db_session, grid_map, tolerance_m2=1e12)
    make_user(db_session, "admin", "boss")
    sign_in(client, "boss")
    started = time.perf_counter()
    plain = client.get("/map/cells.geojson?level=district&zoom=5")
    elapsed = time.perf_counter() - started
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert len(features(plain)) == 103
    assert len(plain.get_data()) < 300_000, len(plain.get_data())
    zipped = client.get("/map/cells.geojson?level=district&zoom=5",
                        headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.get_data()) < len(plain.get_data()) / 2
    assert features(zipped) == features(plain)
    print(f"\ninner mongolia districts z5: {len(plain.get_data())} bytes, "
          f"{len(zipped.get_data())} gzipped, first {elapsed * 1000:.0f} ms")
