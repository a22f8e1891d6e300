"""Point → cell: the in-process STRtree and the database's ST_Covers give the same answer."""

import random

import numpy as np
import pytest
from geoalchemy2.shape import to_shape
from shapely.geometry import Point, box

from server.services.lookup import locate, locate_in_database, locate_many
from tests.factories import make_grid, make_wuhai_map


@pytest.fixture
def wuhai(db_session):
    return make_wuhai_map(db_session, streets_per_district=3)


def test_index_and_database_agree_on_random_points(db_session, wuhai):
    minx, miny, maxx, maxy = np.array([to_shape(c.geom).bounds for c in wuhai.cells]).T
    rng = random.Random(20261122)
    points = [(rng.uniform(minx.min() - 0.05, maxx.max() + 0.05),
               rng.uniform(miny.min() - 0.05, maxy.max() + 0.05)) for _ in range(2000)]
    from_index = locate_many(db_session, wuhai, [p[0] for p in points], [p[1] for p in points])
    from_database = [locate_in_database(db_session, wuhai, lon, lat) for lon, lat in points]
    assert from_index == from_database
    inside = sum(1 for cell in from_index if cell is not None)
    assert 0 < inside < len(points)  # both cases are exercised


def test_point_on_a_shared_border_lands_in_the_smaller_code_on_both_paths(db_session):
    grid = make_grid(db_session)
    # D1 and D2 share the meridian 106.1; D1001001 and D1001002 etc. share inner cuts.
    for lon, lat in [(106.1, 39.05), (106.1, 39.0), (106.1, 39.1)]:
        expected = min((c for c in grid.cells.values() if c.level == "community"
                        and to_shape(c.geom).covers(Point(lon, lat))),
                       key=lambda c: c.code)
        assert locate(db_session, lon, lat) == expected.id
        assert locate_in_database(db_session, grid.map, lon, lat) == expected.id


def test_point_in_no_cell_says_so(db_session):
    grid = make_grid(db_session)
    assert locate(db_session, 0.0, 0.0) is None
    assert locate_in_database(db_session, grid.map, 0.0, 0.0) is None


def test_lookup_api_returns_the_lowest_cell(client, db_session):
    from tests.factories import auth_headers, make_user

    make_grid(db_session)
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    response = client.get("/api/v1/cells/lookup?lon=106.01&lat=39.01", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["cell"]["level"] == "community"
    bad = client.get("/api/v1/cells/lookup?lon=500000&lat=39", headers=headers)
    assert bad.status_code == 422 and "lon" in str(bad.get_json()["error"]["details"])


def test_cell_geometry_is_stored_as_a_multipolygon_in_wgs84(db_session):
    grid = make_grid(db_session)
    shape = to_shape(grid.cells["D1"].geom)
    assert shape.geom_type == "MultiPolygon"
    assert shape.equals(box(106.0, 39.0, 106.1, 39.1))
