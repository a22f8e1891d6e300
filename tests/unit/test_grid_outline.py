"""Outlines for drawing: simplified to half a pixel, rounded to a quarter of one, per zoom."""

import json

import pytest
from shapely.geometry import MultiPolygon, Point, box

from grid_maps.outline import decimals, outlines, tolerance


def test_rounding_and_tolerance_follow_the_zoom():
    assert [decimals(z) for z in (0, 5, 10, 18)] == [1, 2, 4, 6]
    assert tolerance(5) == pytest.approx(360 / 256 / 32 / 2)


def test_a_detailed_outline_is_simplified_and_rounded_for_a_coarse_zoom():
    circle = Point(106.8, 39.6).buffer(0.2, quad_segs=256)
    (text, bounds), = outlines([(7, circle, {"code": "C"})], 5).values()
    feature = json.loads(text)
    ring = feature["geometry"]["coordinates"][0]
    assert feature["id"] == 7 and feature["properties"] == {"code": "C"}
    assert feature["geometry"]["type"] == "Polygon" and len(ring) < 60
    assert all(round(x, 2) == x and round(y, 2) == y for x, y in ring)
    assert ring[0] == ring[-1]
    assert bounds == pytest.approx(circle.bounds)


def test_multipolygons_stay_multi_and_every_zoom_outside_0_to_18_is_refused():
    shape = MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)])
    (text, _), = outlines([(1, shape, {})], 12).values()
    assert json.loads(text)["geometry"]["type"] == "MultiPolygon"
    with pytest.raises(ValueError):
        outlines([(1, shape, {})], 19)
