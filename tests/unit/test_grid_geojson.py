"""Reading grid map GeoJSON: whole-file failures and per-feature problems."""

import json
from pathlib import Path

import pytest

from grid_maps import GeoJSONError, ValidationReport, read_feature_collection

DATA = Path(__file__).resolve().parents[1] / "data" / "boundaries"

SQUARE = [[[106.8, 39.6], [106.9, 39.6], [106.9, 39.7], [106.8, 39.7], [106.8, 39.6]]]


def feature(code="A1", name="一街道", geometry=None, **extra):
    props = {"code": code, "name": name, **extra}
    geometry = geometry if geometry is not None else {"type": "Polygon", "coordinates": SQUARE}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


def read(*features, **options):
    return read_feature_collection(json.dumps(collection(*features)), **options)


def codes_of(report: ValidationReport) -> list[str]:
    return [p.code for p in report.problems]


def test_real_wuhai_file_reads_three_cells_without_problems():
    cells, report = read_feature_collection((DATA / "wuhai-districts.geojson").read_bytes(), code_property="gb")
    assert [c.name for c in cells] == ["海南区", "乌达区", "海勃湾区"]
    assert all(c.code.startswith("1561503") for c in cells)
    assert all(c.geometry.geom_type == "MultiPolygon" for c in cells)
    assert report.problems == []


def test_malformed_json_names_line_and_column():
    with pytest.raises(GeoJSONError) as info:
        read_feature_collection('{"type": "FeatureCollection",\n "features": [,]}')
    assert info.value.code == "malformed_json"
    assert "line 2, column" in info.value.message


def test_non_utf8_bytes_are_malformed_json_suggesting_utf8():
    with pytest.raises(GeoJSONError) as info:
        read_feature_collection(json.dumps(collection(feature()), ensure_ascii=False).encode("gbk"))
    assert info.value.code == "malformed_json"
    assert "UTF-8" in info.value.message


def test_nan_coordinate_is_malformed_json():
    with pytest.raises(GeoJSONError) as info:
        read_feature_collection('{"type": "FeatureCollection", "features": [NaN]}')
    assert info.value.code == "malformed_json"


def test_utf8_byte_order_mark_is_accepted():
    cells, report = read_feature_collection(b"\xef\xbb\xbf" + json.dumps(collection(feature())).encode())
    assert len(cells) == 1 and report.ok


def test_geojson_error_is_a_value_error_with_code():
    error = GeoJSONError("malformed_json", "bad")
    assert isinstance(error, ValueError)
    assert error.to_dict()["code"] == "malformed_json"


def test_top_level_array_is_not_a_feature_collection():
    with pytest.raises(GeoJSONError) as info:
        read_feature_collection("[1, 2]")
    assert info.value.code == "not_feature_collection"
    assert "array" in info.value.message


def test_single_feature_is_not_a_feature_collection():
    with pytest.raises(GeoJSONError) as info:
        read_feature_collection(feature())
    assert info.value.code == "not_feature_collection"
    assert "'Feature'" in info.value.message


def test_features_member_must_be_a_list():
    with pytest.raises(GeoJSONError) as info:
        read_feature_collection({"type": "FeatureCollection", "features": {}})
    assert info.value.code == "not_feature_collection"


def test_collection_without_features_is_empty_collection():
    with pytest.raises(GeoJSONError) as info:
        read_feature_collection(collection())
    assert info.value.code == "empty_collection"


def test_integer_code_is_read_as_text():
    cells, report = read(feature(code=156150302))
    assert cells[0].code == "156150302"
    assert report.ok


def test_missing_code_property_lists_the_properties_present():
    cells, report = read(feature(code=None, gb="156150302"))
    (problem,) = report.errors
    assert problem.code == "missing_property"
    assert problem.feature_index == 0
    assert "'code'" in problem.message and "gb" in problem.message
    assert cells[0].code is None


def test_missing_name_property_is_an_error():
    _, report = read(feature(name=""))
    assert codes_of(report) == ["missing_property"]
    assert report.errors[0].cell_code == "A1"


def test_parent_code_is_read_from_the_parent_property():
    cells, report = read(feature(parent=15), parent_property="parent")
    assert cells[0].parent_code == "15"
    assert report.ok


def test_every_bad_feature_is_listed_not_just_the_first():
    _, report = read(
        feature(code="A1", geometry={"type": "Point", "coordinates": [106.8, 39.6]}),
        feature(code="A2"),
        feature(code=None),
        feature(code="A4", geometry={"type": "LineString", "coordinates": [[106.8, 39.6], [106.9, 39.6]]}),
    )
    assert [(p.code, p.feature_index) for p in report.errors] == [
        ("not_polygon", 0),
        ("missing_property", 2),
        ("not_polygon", 3),
    ]


def test_point_geometry_is_not_polygon_naming_the_type():
    cells, report = read(feature(geometry={"type": "Point", "coordinates": [106.8, 39.6]}))
    (problem,) = report.errors
    assert problem.code == "not_polygon"
    assert "Point" in problem.message
    assert cells[0].geometry is None


def test_null_geometry_is_empty_geometry():
    cells, report = read({"type": "Feature", "properties": {"code": "A1", "name": "x"}, "geometry": None})
    assert codes_of(report) == ["empty_geometry"]
    assert cells[0].geometry is None


def test_polygon_without_coordinates_is_empty_geometry():
    _, report = read(feature(geometry={"type": "Polygon", "coordinates": []}))
    assert codes_of(report) == ["empty_geometry"]


def test_malformed_coordinate_array_is_invalid_geometry_not_a_crash():
    cells, report = read(
        feature(code="A1", geometry={"type": "Polygon", "coordinates": [[[106.8, 39.6], [106.9, 39.6]]]}),
        feature(code="A2", geometry={"type": "MultiPolygon", "coordinates": "oops"}),
        feature(code="A3"),
    )
    assert [(p.code, p.feature_index) for p in report.errors] == [("invalid_geometry", 0), ("invalid_geometry", 1)]
    assert cells[2].geometry is not None


def test_geometry_that_is_not_an_object_is_invalid_geometry():
    _, report = read(feature(geometry=[1, 2]))
    assert codes_of(report) == ["invalid_geometry"]


def test_projected_coordinates_are_out_of_range_with_a_hint():
    metres = [[[500000, 4400000], [501000, 4400000], [501000, 4401000], [500000, 4401000], [500000, 4400000]]]
    _, report = read(feature(geometry={"type": "Polygon", "coordinates": metres}))
    (problem,) = report.errors
    assert problem.code == "coordinates_out_of_range"
    assert "metres" in problem.message and "EPSG:4326" in problem.message


def test_swapped_lat_lon_is_out_of_range_with_a_hint():
    swapped = [[[39.6, 106.8], [39.6, 106.9], [39.7, 106.9], [39.6, 106.8]]]
    _, report = read(feature(geometry={"type": "Polygon", "coordinates": swapped}))
    assert codes_of(report) == ["coordinates_out_of_range"]
    assert "swapped" in report.errors[0].message


def test_entry_that_is_not_a_feature_is_invalid_feature():
    _, report = read(feature(), {"type": "Polygon", "coordinates": SQUARE})
    assert [(p.code, p.feature_index) for p in report.errors] == [("invalid_feature", 1)]


def test_declared_projected_crs_is_one_error_for_the_file():
    document = collection(
        feature(code="A1"),
        feature(code="A2"),
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
    )
    _, report = read_feature_collection(document)
    (problem,) = report.errors
    assert problem.code == "crs_not_wgs84"
    assert "3857" in problem.message
    assert problem.feature_index is None


@pytest.mark.parametrize(
    "name", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"]
)
def test_declared_wgs84_crs_is_accepted(name):
    _, report = read_feature_collection(collection(feature(), crs={"type": "name", "properties": {"name": name}}))
    assert report.problems == []


def test_declared_cgcs2000_crs_is_only_a_warning():
    document = collection(feature(), crs={"type": "name", "properties": {"name": "EPSG:4490"}})
    _, report = read_feature_collection(document)
    assert report.ok
    assert [p.code for p in report.warnings] == ["crs_not_wgs84"]


def test_report_to_dict_splits_errors_and_warnings():
    _, report = read(feature(code=None))
    data = report.to_dict()
    assert data["ok"] is False
    assert data["errors"][0]["code"] == "missing_property"
    assert data["errors"][0]["message_zh"]
    assert data["warnings"] == [] and data["repairs"] == []
    json.dumps(data)


def test_unclosed_ring_is_invalid_geometry_not_silently_closed():
    ring = [[106.8, 39.6], [106.9, 39.6], [106.9, 39.7], [106.8, 39.7]]
    _, report = read(feature(geometry={"type": "Polygon", "coordinates": [ring]}))
    assert codes_of(report) == ["invalid_geometry"]
    assert "not closed" in report.problems[0].message


def test_cell_spanning_the_antimeridian_is_refused():
    ring = [[-179.9, 10.0], [179.9, 10.0], [179.9, 10.1], [-179.9, 10.1], [-179.9, 10.0]]
    _, report = read(feature(geometry={"type": "Polygon", "coordinates": [ring]}))
    assert codes_of(report) == ["coordinates_out_of_range"]
    assert "antimeridian" in report.problems[0].message


@pytest.mark.parametrize("code", ["X" * 65, "A\x00B", "A\nB"])
def test_overlong_or_control_character_codes_are_refused(code):
    cells, report = read(feature(code=code))
    assert codes_of(report) == ["bad_property"]


def test_polygon_without_area_is_refused():
    from grid_maps import validate_cells

    tiny = [[[106.8, 39.6], [106.8 + 1e-12, 39.6], [106.8 + 1e-12, 39.6 + 1e-12], [106.8, 39.6]]]
    features, report = read(feature(geometry={"type": "Polygon", "coordinates": tiny}))
    cells, report = validate_cells(features, report=report)
    assert cells == [] and "empty_geometry" in codes_of(report)
