"""Geometry helpers: polygonal parts, approximate areas, distances."""

import math

import pytest
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, box

from grid_maps import area_m2, distance_m, to_multipolygon


def test_to_multipolygon_keeps_only_polygonal_parts():
    mixed = GeometryCollection([box(0, 0, 1, 1), LineString([(2, 2), (3, 3)]), Point(5, 5)])
    result = to_multipolygon(mixed)
    assert isinstance(result, MultiPolygon)
    assert result.equals(MultiPolygon([box(0, 0, 1, 1)]))


def test_to_multipolygon_of_a_line_is_empty():
    assert to_multipolygon(LineString([(0, 0), (1, 1)])).is_empty


def test_area_is_scaled_at_the_centroid_latitude():
    square = box(106.8, 39.95, 106.81, 39.96)
    expected = 0.01 * 111_320 * math.cos(math.radians(39.955)) * 0.01 * 110_574
    assert area_m2(square) == pytest.approx(expected, rel=1e-9)


def test_area_of_nothing_is_zero():
    assert area_m2(None) == 0.0
    assert area_m2(MultiPolygon()) == 0.0


def test_one_degree_of_latitude_is_about_111_km():
    assert distance_m(106.8, 39.0, 106.8, 40.0) == pytest.approx(111_195, rel=1e-3)


def test_distance_to_the_same_point_is_zero():
    assert distance_m(106.8, 39.6, 106.8, 39.6) == 0.0
