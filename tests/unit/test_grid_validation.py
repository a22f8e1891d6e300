"""Validating grid cells: per-cell geometry, codes, parents and topology."""

import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from grid_maps import CellFeature, area_m2, read_feature_collection, subdivide, validate_cells

DATA = Path(__file__).resolve().parents[1] / "data" / "boundaries"

# Near Wuhai: one degree of longitude is about 86 km, of latitude about 111 km.
X, Y = 106.8, 39.6
BOWTIE = Polygon([(X, Y), (X + 0.1, Y + 0.1), (X + 0.1, Y), (X, Y + 0.1), (X, Y)])


def cell(code, geometry, parent=None, index=None, name="网格"):
    return CellFeature(index if index is not None else 0, code, name, geometry, parent, {})


def cells(*specs):
    """Build features from (code, geometry[, parent]) tuples, indexed in order."""
    return [cell(spec[0], spec[1], spec[2] if len(spec) > 2 else None, index=i) for i, spec in enumerate(specs)]


def codes_of(problems):
    return [p.code for p in problems]


def read_real(name):
    return read_feature_collection((DATA / name).read_bytes(), code_property="gb")


def test_real_wuhai_districts_validate_without_problems_as_one_level():
    features, report = read_real("wuhai-districts.geojson")
    valid, report = validate_cells(features, report=report)
    assert report.problems == []
    assert report.cell_count == len(valid) == 3


def test_real_inner_mongolia_districts_validate_without_problems_quickly():
    features, report = read_real("inner-mongolia-districts.geojson")
    started = time.perf_counter()
    valid, report = validate_cells(features, report=report)
    assert time.perf_counter() - started < 10
    assert report.problems == []
    assert report.cell_count == len(valid) == 103


def test_real_inner_mongolia_districts_tile_their_union_by_containment():
    features, report = read_real("inner-mongolia-districts.geojson")
    province = shapely.union_all([f.geometry for f in features])
    valid, report = validate_cells(features, parents={"15": province}, link="containment", report=report)
    assert report.problems == []
    assert {c.parent_code for c in valid} == {"15"}


def test_bowtie_is_invalid_geometry_with_reason_and_point():
    valid, report = validate_cells(cells(("A1", BOWTIE)))
    (problem,) = report.errors
    assert problem.code == "invalid_geometry"
    assert "Self-intersection" in problem.message
    assert problem.point == pytest.approx((X + 0.05, Y + 0.05))
    assert valid == []


def test_repair_makes_a_bowtie_valid_and_records_it():
    valid, report = validate_cells(cells(("A1", BOWTIE)), repair=True)
    assert report.ok
    assert [(r.cell_code, r.action) for r in report.repairs] == [("A1", "make_valid")]
    assert valid[0].geometry.is_valid
    assert len(valid[0].geometry.geoms) == 2


def test_cells_are_returned_as_multipolygons():
    valid, _ = validate_cells(cells(("A1", box(X, Y, X + 0.1, Y + 0.1))))
    assert isinstance(valid[0].geometry, MultiPolygon)


def test_duplicate_code_is_an_error_naming_the_first_feature():
    valid, report = validate_cells(cells(("A1", box(X, Y, X + 0.1, Y + 0.1)), ("A1", box(X + 1, Y, X + 1.1, Y + 0.1))))
    (problem,) = report.errors
    assert problem.code == "duplicate_code"
    assert problem.feature_index == 1
    assert "feature 0" in problem.message
    assert [c.index for c in valid] == [0]


def test_problems_found_when_reading_are_not_repeated():
    features = cells(("A1", Point(X, Y)), (None, box(X, Y, X + 0.1, Y + 0.1)))
    _, report = validate_cells(features)
    assert codes_of(report.errors) == ["not_polygon", "missing_property"]
    _, again = validate_cells(features, report=report)
    assert codes_of(again.errors) == ["not_polygon", "missing_property"]


def test_projected_feature_is_left_out_of_the_cells():
    metres = box(500000, 4400000, 501000, 4401000)
    valid, report = validate_cells(cells(("A1", metres), ("A2", box(X, Y, X + 0.1, Y + 0.1))))
    assert codes_of(report.errors) == ["coordinates_out_of_range"]
    assert [c.code for c in valid] == ["A2"]


def test_siblings_sharing_an_edge_are_fine():
    _, report = validate_cells(cells(("A1", box(X, Y, X + 0.1, Y + 0.1)), ("A2", box(X + 0.1, Y, X + 0.2, Y + 0.1))))
    assert report.problems == []


def test_overlapping_siblings_are_an_error_with_area_and_place():
    shared = box(X + 0.09, Y, X + 0.1, Y + 0.1)
    _, report = validate_cells(cells(("A1", box(X, Y, X + 0.1, Y + 0.1)), ("A2", box(X + 0.09, Y, X + 0.2, Y + 0.1))))
    (problem,) = report.problems
    assert (problem.code, problem.severity) == ("overlap", "error")
    assert (problem.cell_code, problem.other_code) == ("A1", "A2")
    assert problem.area_m2 == pytest.approx(area_m2(shared), rel=1e-6)
    assert problem.area_m2 == pytest.approx(9.5e6, rel=0.02)  # ~860 m × 11 km
    assert shared.contains(Point(problem.point))
    assert problem.bbox == pytest.approx(shared.bounds)


def test_sliver_overlap_below_tolerance_is_a_warning():
    # 0.00001° × 0.0001° is about 0.86 m × 11 m, under 10 m².
    _, report = validate_cells(
        cells(("A1", box(X, Y, X + 0.1, Y + 0.0001)), ("A2", box(X + 0.09999, Y, X + 0.2, Y + 0.0001)))
    )
    assert report.ok
    (problem,) = report.warnings
    assert problem.code == "sliver_overlap"
    assert 0 < problem.area_m2 < 100


def test_sliver_tolerance_is_configurable():
    features = cells(("A1", box(X, Y, X + 0.1, Y + 0.0001)), ("A2", box(X + 0.09999, Y, X + 0.2, Y + 0.0001)))
    _, report = validate_cells(features, sliver_tolerance_m2=1)
    assert codes_of(report.errors) == ["overlap"]


def test_unknown_parent_code_is_an_error():
    parents = {"P1": box(X, Y, X + 1, Y + 1)}
    valid, report = validate_cells(
        cells(("A1", box(X, Y, X + 1, Y + 1), "P1"), ("A2", box(X + 2, Y, X + 3, Y + 1), "P9")), parents=parents
    )
    (problem,) = report.errors
    assert (problem.code, problem.cell_code, problem.other_code) == ("unknown_parent", "A2", "P9")
    assert [c.code for c in valid] == ["A1"]


def test_gap_inside_parent_is_an_error_with_area():
    parent = box(X, Y, X + 0.2, Y + 0.1)
    left, right = box(X, Y, X + 0.08, Y + 0.1), box(X + 0.1, Y, X + 0.2, Y + 0.1)
    hole = box(X + 0.08, Y, X + 0.1, Y + 0.1)
    _, report = validate_cells(cells(("A1", left, "P"), ("A2", right, "P")), parents={"P": parent})
    (problem,) = report.problems
    assert (problem.code, problem.cell_code) == ("gap", "P")
    assert problem.area_m2 == pytest.approx(area_m2(hole), rel=1e-6)
    assert hole.contains(Point(problem.point))


def test_sliver_gap_below_tolerance_is_a_warning():
    parent = box(X, Y, X + 0.2, Y + 0.0001)
    children = cells(("A1", box(X, Y, X + 0.09999, Y + 0.0001), "P"), ("A2", box(X + 0.1, Y, X + 0.2, Y + 0.0001), "P"))
    _, report = validate_cells(children, parents={"P": parent})
    assert report.ok
    assert codes_of(report.warnings) == ["sliver_gap"]


def test_child_outside_parent_is_an_error_with_area():
    parent = box(X, Y, X + 0.1, Y + 0.1)
    child = box(X, Y, X + 0.12, Y + 0.1)
    _, report = validate_cells(cells(("A1", child, "P")), parents={"P": parent})
    (problem,) = report.problems
    assert (problem.code, problem.cell_code, problem.other_code) == ("outside_parent", "A1", "P")
    assert problem.area_m2 == pytest.approx(area_m2(box(X + 0.1, Y, X + 0.12, Y + 0.1)), rel=1e-6)


def test_child_slightly_outside_parent_is_a_warning():
    parent = box(X, Y, X + 0.1, Y + 0.0001)
    _, report = validate_cells(cells(("A1", box(X, Y, X + 0.10001, Y + 0.0001), "P")), parents={"P": parent})
    assert report.ok
    assert codes_of(report.warnings) == ["sliver_outside_parent"]


def test_repair_clips_a_child_to_its_parent():
    parent = box(X, Y, X + 0.1, Y + 0.1)
    valid, report = validate_cells(cells(("A1", box(X, Y, X + 0.12, Y + 0.1), "P")), parents={"P": parent}, repair=True)
    assert report.problems == []
    assert "clip_to_parent" in [r.action for r in report.repairs]
    assert valid[0].geometry.equals(parent)


def test_repair_snaps_vertices_just_outside_onto_the_parent_boundary():
    # The child's east edge lies about 1 m east of the parent's.
    parent = box(X, Y, X + 0.1, Y + 0.1)
    valid, report = validate_cells(cells(("A1", box(X, Y, X + 0.10001, Y + 0.1), "P")), parents={"P": parent}, repair=True)
    assert report.problems == []
    assert [r.action for r in report.repairs] == ["snap_to_parent"]
    assert valid[0].geometry.equals(parent)


def test_repair_fills_a_thin_gap_along_the_parent_boundary():
    # The child stops about 1 m short of the parent's 11 km east edge: ~9,500 m² of gap.
    parent = box(X, Y, X + 0.1, Y + 0.1)
    child = box(X, Y, X + 0.09999, Y + 0.1)
    _, unrepaired = validate_cells(cells(("A1", child, "P")), parents={"P": parent})
    valid, report = validate_cells(cells(("A1", child, "P")), parents={"P": parent}, repair=True)
    assert codes_of(unrepaired.problems) == ["gap"]
    assert report.problems == []
    assert [r.action for r in report.repairs] == ["fill_gap"]
    assert valid[0].geometry.equals(parent)


def test_repair_leaves_a_wide_gap_as_an_error():
    parent = box(X, Y, X + 0.1, Y + 0.1)
    _, report = validate_cells(cells(("A1", box(X, Y, X + 0.05, Y + 0.1), "P")), parents={"P": parent}, repair=True)
    assert codes_of(report.problems) == ["gap"]
    assert report.repairs == []


def test_repair_fits_jittered_halves_of_a_real_district_back_into_it():
    features, _ = read_real("wuhai-districts.geojson")
    district = features[0]

    def jitter(coords):  # up to ~3 m, the same for a vertex wherever it appears
        h = np.sin(coords[:, 0] * 1e5) * np.cos(coords[:, 1] * 1e5) * 3e-5
        return coords + np.stack([h, -h], axis=1)

    halves = [shapely.transform(p, jitter) for p in subdivide(district.geometry, 2)]
    children = cells(("C1", halves[0], district.code), ("C2", halves[1], district.code))
    _, unrepaired = validate_cells(children, parents={district.code: district.geometry})
    valid, report = validate_cells(children, parents={district.code: district.geometry}, repair=True)
    assert not unrepaired.ok
    assert report.problems == []
    union = shapely.union_all([c.geometry for c in valid])
    assert area_m2(shapely.symmetric_difference(union, district.geometry)) < 1


def test_siblings_of_different_parents_are_not_compared_for_overlap():
    parents = {"P1": box(X, Y, X + 0.1, Y + 0.1), "P2": box(X + 0.1, Y, X + 0.2, Y + 0.1)}
    features = cells(("A1", parents["P1"], "P1"), ("B1", box(X + 0.05, Y, X + 0.2, Y + 0.1), "P2"))
    _, report = validate_cells(features, parents=parents)
    assert codes_of(report.errors) == ["outside_parent"]


def test_containment_link_picks_the_parent_sharing_most_area():
    parents = {"P1": box(X, Y, X + 0.1, Y + 0.1), "P2": box(X + 0.1, Y, X + 0.2, Y + 0.1)}
    valid, report = validate_cells(
        cells(("A1", box(X + 0.01, Y, X + 0.11, Y + 0.1)), ("A2", box(X + 0.12, Y, X + 0.2, Y + 0.1))),
        parents=parents,
        link="containment",
    )
    assert [(c.code, c.parent_code) for c in valid] == [("A1", "P1"), ("A2", "P2")]
    assert codes_of(report.errors) == ["outside_parent", "gap", "gap"]


def test_containment_link_without_a_parent_is_no_parent():
    valid, report = validate_cells(
        cells(("A1", box(X + 5, Y, X + 5.1, Y + 0.1))), parents={"P1": box(X, Y, X + 0.1, Y + 0.1)}, link="containment"
    )
    assert codes_of(report.errors) == ["no_parent"]
    assert valid == []


def test_parent_without_children_is_a_warning():
    parents = {"P1": box(X, Y, X + 0.1, Y + 0.1), "P2": box(X + 0.1, Y, X + 0.2, Y + 0.1)}
    _, report = validate_cells(cells(("A1", parents["P1"], "P1")), parents=parents)
    assert report.ok
    assert [(p.code, p.cell_code) for p in report.warnings] == [("parent_without_children", "P2")]


def test_unknown_link_is_refused():
    with pytest.raises(ValueError):
        validate_cells([], parents={}, link="nearest")


def test_report_to_dict_lists_repairs():
    _, report = validate_cells(cells(("A1", BOWTIE)), repair=True)
    data = report.to_dict()
    assert data["ok"] is True and data["cell_count"] == 1
    assert data["repairs"][0]["action"] == "make_valid"
