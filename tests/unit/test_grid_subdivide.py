"""Subdividing a cell into equal-area children that tile it."""

import itertools
from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, box

from grid_maps import CellFeature, area_m2, read_feature_collection, subdivide, validate_cells

DATA = Path(__file__).resolve().parents[1] / "data" / "boundaries"
COUNTS = (2, 3, 5, 7)


@pytest.fixture(scope="module")
def district():
    """Return 海勃湾区 of Wuhai as a MultiPolygon."""
    features, _ = read_feature_collection((DATA / "wuhai-districts.geojson").read_bytes(), code_property="gb")
    return next(f for f in features if f.name == "海勃湾区").geometry


@pytest.mark.parametrize("n", COUNTS)
def test_pieces_together_equal_the_parent(district, n):
    pieces = subdivide(district, n)
    assert len(pieces) == n
    union = shapely.union_all(pieces)
    assert area_m2(shapely.symmetric_difference(union, district)) < 1


@pytest.mark.parametrize("n", COUNTS)
def test_pieces_do_not_overlap(district, n):
    pieces = subdivide(district, n)
    for a, b in itertools.combinations(pieces, 2):
        assert area_m2(shapely.intersection(a, b)) < 0.01


@pytest.mark.parametrize("n", COUNTS)
def test_pieces_have_nearly_equal_area(district, n):
    areas = [area_m2(p) for p in subdivide(district, n)]
    mean = sum(areas) / n
    assert all(abs(a / mean - 1) <= 0.05 for a in areas)


@pytest.mark.parametrize("n", COUNTS)
def test_pieces_are_valid_non_empty_multipolygons(district, n):
    for piece in subdivide(district, n):
        assert isinstance(piece, MultiPolygon)
        assert piece.is_valid and not piece.is_empty


@pytest.mark.parametrize("n", COUNTS)
def test_subdivided_children_validate_cleanly_against_their_parent(district, n):
    children = [CellFeature(i, f"P-{i:03d}", f"网格{i}", g, "P") for i, g in enumerate(subdivide(district, n))]
    valid, report = validate_cells(children, parents={"P": district})
    assert report.problems == []
    assert len(valid) == n


def test_subdivide_is_deterministic(district):
    first, second = subdivide(district, 5), subdivide(district, 5)
    assert all(a.equals_exact(b, 0) for a, b in zip(first, second))


def test_one_piece_is_the_geometry_itself(district):
    assert subdivide(district, 1) == [district]


def test_wide_shape_is_cut_west_to_east():
    west, east = subdivide(box(100, 40, 102, 40.1), 2)
    assert west.centroid.x < east.centroid.x
    assert west.bounds[2] == pytest.approx(101, abs=1e-4)


def test_tall_shape_is_cut_north_to_south():
    north, south = subdivide(box(100, 40, 100.1, 42), 2)
    assert north.centroid.y > south.centroid.y


def test_separate_parts_can_go_to_separate_pieces():
    islands = MultiPolygon([box(100, 40, 100.1, 40.1), box(101, 40, 101.1, 40.1)])
    west, east = subdivide(islands, 2)
    assert west.equals(islands.geoms[0]) and east.equals(islands.geoms[1])


@pytest.mark.parametrize("n", [0, -1, 1001])
def test_piece_count_out_of_range_is_refused(district, n):
    with pytest.raises(ValueError):
        subdivide(district, n)


def test_geometry_without_area_is_refused():
    with pytest.raises(ValueError):
        subdivide(shapely.LineString([(100, 40), (101, 40)]), 2)


def test_repair_changes_nothing_in_children_that_already_fit(district):
    children = [CellFeature(i, f"P-{i:03d}", f"网格{i}", g, "P") for i, g in enumerate(subdivide(district, 7))]
    _, report = validate_cells(children, parents={"P": district}, repair=True)
    assert report.problems == [] and report.repairs == []
