"""GCJ-02 <-> WGS84: the offset inside China, its precise inverse, identity outside China."""

import math

import pytest

from grid_maps.gcj02 import gcj02_to_wgs84, outside_china, wgs84_to_gcj02

WUHAI = (106.8, 39.67)
BEIJING = (116.3975, 39.9087)
SHANGHAI = (121.4737, 31.2304)
BERLIN = (13.405, 52.52)
SYDNEY = (151.2093, -33.8688)


def metres(a, b):
    """Return the haversine distance between two (lon, lat) points in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


@pytest.mark.parametrize("point", [WUHAI, BEIJING, SHANGHAI], ids=["wuhai", "beijing", "shanghai"])
def test_round_trip_returns_the_point_within_1e_6_degrees(point):
    lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(*point))
    assert abs(lon - point[0]) < 1e-6
    assert abs(lat - point[1]) < 1e-6


@pytest.mark.parametrize("point", [WUHAI, BEIJING, SHANGHAI], ids=["wuhai", "beijing", "shanghai"])
def test_inverse_maps_back_onto_the_gcj02_point_within_1e_7_degrees(point):
    gcj = wgs84_to_gcj02(*point)
    again = wgs84_to_gcj02(*gcj02_to_wgs84(*gcj))
    assert abs(again[0] - gcj[0]) < 1e-7
    assert abs(again[1] - gcj[1]) < 1e-7


def test_inverse_is_more_precise_than_the_one_step_approximation():
    gcj = wgs84_to_gcj02(*WUHAI)
    shifted = wgs84_to_gcj02(*gcj)
    one_step = (2 * gcj[0] - shifted[0], 2 * gcj[1] - shifted[1])
    precise = gcj02_to_wgs84(*gcj)
    assert metres(one_step, WUHAI) > 0.1
    assert metres(precise, WUHAI) < 0.001


@pytest.mark.parametrize("point", [WUHAI, BEIJING, SHANGHAI], ids=["wuhai", "beijing", "shanghai"])
def test_offset_in_china_is_hundreds_of_metres(point):
    assert 100 < metres(point, wgs84_to_gcj02(*point)) < 1000


@pytest.mark.parametrize("point", [BERLIN, SYDNEY], ids=["berlin", "sydney"])
def test_conversion_is_identity_outside_china(point):
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_outside_china_uses_the_rough_box():
    assert not outside_china(*WUHAI)
    assert outside_china(*BERLIN)
    assert outside_china(WUHAI[1], WUHAI[0])  # lon/lat swapped
