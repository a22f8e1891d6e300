"""Read grid cells from a GeoJSON FeatureCollection, listing every problem found."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from .report import GeoJSONError, ValidationReport

POLYGONAL_TYPES = ("Polygon", "MultiPolygon")
_CRS84 = re.compile(r"CRS:?84$")
_EPSG_CODE = re.compile(r"EPSG\D*?(?:\d+(?:\.\d+)*\D+)?(\d+)$")
# CGCS2000 (EPSG:4490), China's national datum, differs from WGS84 by well under a metre.
_CGCS2000 = "4490"


@dataclass(frozen=True)
class CellFeature:
    """One feature of a grid map file, as read (geometry None when missing or unreadable)."""

    index: int
    code: str | None
    name: str | None
    geometry: BaseGeometry | None
    parent_code: str | None = None
    properties: dict = field(default_factory=dict)


def read_feature_collection(
    data: bytes | str | dict,
    *,
    code_property: str = "code",
    name_property: str = "name",
    parent_property: str | None = None,
) -> tuple[list[CellFeature], ValidationReport]:
    """Parse a FeatureCollection into cell features and a report of per-feature problems."""
    document = data if isinstance(data, dict) else _decode(data)
    features = _features_of(document)
    report = ValidationReport()
    _check_crs(document.get("crs"), report)
    cells = [
        _read_feature(i, raw, code_property, name_property, parent_property, report)
        for i, raw in enumerate(features)
    ]
    return cells, report


def _decode(data: bytes | str) -> object:
    """Decode JSON text or bytes, raising GeoJSONError('malformed_json') with the place."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise GeoJSONError(
                "malformed_json",
                f"file is not UTF-8 text (bad byte at offset {exc.start}); "
                "if it was saved as GBK/GB18030, re-save it as UTF-8",
            ) from None
    elif not isinstance(data, str):
        raise GeoJSONError("malformed_json", f"expected JSON text, got {type(data).__name__}")
    try:
        return json.loads(data.lstrip("\ufeff"), parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise GeoJSONError(
            "malformed_json",
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from None
    except ValueError as exc:  # NaN / Infinity, which JSON does not allow
        raise GeoJSONError("malformed_json", f"invalid JSON: {exc}") from None
    except RecursionError:
        raise GeoJSONError("malformed_json", "invalid JSON: nested too deeply") from None


def _reject_constant(name: str) -> float:
    """Refuse NaN and Infinity, which are not JSON."""
    raise ValueError(f"{name} is not a valid JSON number")


def _features_of(document: object) -> list:
    """Return the feature list of a FeatureCollection or raise GeoJSONError."""
    if not isinstance(document, dict):
        raise GeoJSONError(
            "not_feature_collection",
            f"top level is a JSON {_json_kind(document)}, expected a GeoJSON FeatureCollection object",
        )
    kind = document.get("type")
    if kind != "FeatureCollection":
        found = f"type {kind!r}" if kind is not None else "no 'type' member"
        raise GeoJSONError(
            "not_feature_collection", f"top level has {found}, expected type 'FeatureCollection'"
        )
    features = document.get("features")
    if not isinstance(features, list):
        raise GeoJSONError(
            "not_feature_collection",
            f"'features' must be a list, got {_json_kind(features) if 'features' in document else 'nothing'}",
        )
    if not features:
        raise GeoJSONError("empty_collection", "the FeatureCollection has no features")
    return features


def _json_kind(value: object) -> str:
    """Name the JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _check_crs(crs: object, report: ValidationReport) -> None:
    """Record an error when a legacy 'crs' member names something other than WGS84."""
    if crs is None:
        return
    name = _crs_name(crs)
    if name is None:
        report.error("crs_not_wgs84", f"cannot read the file's 'crs' member {crs!r}; expected EPSG:4326")
        return
    upper = name.strip().upper()
    if _CRS84.search(upper):
        return
    match = _EPSG_CODE.search(upper)
    code = match.group(1) if match else None
    if code == "4326":
        return
    if code == _CGCS2000:
        report.warning(
            "crs_not_wgs84",
            f"file declares CRS {name} (CGCS2000); read as WGS84 / EPSG:4326, "
            "which differs by less than a metre",
        )
        return
    report.error(
        "crs_not_wgs84",
        f"file declares CRS {name}; grid maps must be in WGS84 lon/lat (EPSG:4326): "
        "reproject the file before importing",
    )


def _crs_name(crs: object) -> str | None:
    """Return the CRS name from a GeoJSON 2008 'crs' member, or None if unreadable."""
    if not isinstance(crs, dict) or not isinstance(crs.get("properties"), dict):
        return None
    props = crs["properties"]
    if crs.get("type") == "name" and isinstance(props.get("name"), str):
        return props["name"]
    if crs.get("type") == "EPSG" and isinstance(props.get("code"), (int, str)):
        return f"EPSG:{props['code']}"
    return None


MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 128


def _read_feature(
    index: int,
    raw: object,
    code_property: str,
    name_property: str,
    parent_property: str | None,
    report: ValidationReport,
) -> CellFeature:
    """Read one feature, recording its problems in the report."""
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        found = f"type {raw.get('type')!r}" if isinstance(raw, dict) else f"a JSON {_json_kind(raw)}"
        report.error(
            "invalid_feature",
            f"feature {index} is {found}, expected a GeoJSON Feature",
            feature_index=index,
        )
        return CellFeature(index, None, None, None, None, {})
    properties = raw.get("properties")
    properties = dict(properties) if isinstance(properties, dict) else {}
    code = _text_property(index, properties, code_property, None, report, MAX_CODE_LENGTH)
    name = _text_property(index, properties, name_property, code, report, MAX_NAME_LENGTH)
    parent_code = None
    if parent_property is not None:
        parent_code = _text_property(index, properties, parent_property, code, report,
                                     MAX_CODE_LENGTH)
    geometry = _read_geometry(index, code, raw.get("geometry"), report)
    return CellFeature(index, code, name, geometry, parent_code, properties)


def _text_property(
    index: int, properties: dict, key: str, code: str | None, report: ValidationReport,
    max_length: int,
) -> str | None:
    """Return a property as stripped text (integers allowed), or record missing_property."""
    value = properties.get(key)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if len(text) > max_length or any(ord(char) < 32 for char in text):
            report.error(
                "bad_property",
                f"{_label(index, code)}: property '{key}' must be at most {max_length} "
                "characters without control characters",
                feature_index=index, cell_code=code,
            )
            return None
        return text
    if key not in properties or value is None or (isinstance(value, str) and not value.strip()):
        present = ", ".join(sorted(map(str, properties))) or "none"
        detail = f"property '{key}' is missing or empty (properties present: {present})"
    else:
        detail = f"property '{key}' must be text or an integer, got a {_json_kind(value)}"
    report.error(
        "missing_property",
        f"{_label(index, code)}: {detail}",
        feature_index=index,
        cell_code=code,
    )
    return None


def _read_geometry(
    index: int, code: str | None, raw: object, report: ValidationReport
) -> BaseGeometry | None:
    """Parse a feature's geometry, recording why it cannot be a grid cell."""
    where = {"feature_index": index, "cell_code": code}
    label = _label(index, code)
    if raw is None:
        report.error("empty_geometry", f"{label} has no geometry (null)", **where)
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        report.error("invalid_geometry", f"{label}: geometry is not a GeoJSON geometry object", **where)
        return None
    kind = raw["type"]
    if kind not in POLYGONAL_TYPES:
        report.error(
            "not_polygon", f"{label}: geometry is a {kind}, expected Polygon or MultiPolygon", **where
        )
        return None
    unclosed = _unclosed_ring(raw)
    if unclosed:
        report.error("invalid_geometry", f"{label}: {unclosed}", **where)
        return None
    try:
        geometry = shapely.force_2d(shape(raw))
    except (ShapelyError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        report.error(
            "invalid_geometry", f"{label}: malformed {kind} coordinates ({exc})", **where
        )
        return None
    if geometry.is_empty:
        report.error("empty_geometry", f"{label}: {kind} has no coordinates", **where)
        return geometry
    _check_range(label, geometry, report, where)
    return geometry


def _unclosed_ring(raw: dict) -> str | None:
    """Say which ring does not end where it starts (Shapely would close it silently)."""
    polygons = [raw.get("coordinates")] if raw["type"] == "Polygon" else raw.get("coordinates")
    if not isinstance(polygons, list):
        return None
    for polygon in polygons:
        for ring in polygon if isinstance(polygon, list) else []:
            if isinstance(ring, list) and len(ring) >= 2 and ring[0] != ring[-1]:
                return f"a ring is not closed: it starts at {ring[0]} and ends at {ring[-1]}"
    return None


def _check_range(label: str, geometry: BaseGeometry, report: ValidationReport, where: dict) -> None:
    """Record coordinates_out_of_range when a geometry is not in lon/lat degrees."""
    coords = shapely.get_coordinates(geometry)
    if not np.isfinite(coords).all():
        report.error("coordinates_out_of_range", f"{label}: coordinates include NaN or infinity", **where)
        return
    lon, lat = coords[:, 0], coords[:, 1]
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if not bad.any():
        if lon.max() - lon.min() > 180:
            report.error(
                "coordinates_out_of_range",
                f"{label}: spans more than 180° of longitude; a cell crossing the antimeridian "
                "must be split into parts on either side of it",
                bbox=tuple(float(v) for v in geometry.bounds), **where,
            )
        return
    x, y = coords[bad][0]
    hint = "projected coordinates (metres)? convert to WGS84 / EPSG:4326 lon/lat degrees"
    if (np.abs(lon) <= 90).all() and (np.abs(lat) <= 180).all():
        hint = "latitude and longitude swapped? GeoJSON order is lon, lat"
    report.error(
        "coordinates_out_of_range",
        f"{label}: {int(bad.sum())} coordinate(s) outside lon [-180, 180] / lat [-90, 90], "
        f"e.g. ({x:g}, {y:g}): {hint}",
        bbox=tuple(float(v) for v in geometry.bounds),
        **where,
    )


def _label(index: int, code: str | None) -> str:
    """Name a feature in messages."""
    return f"feature {index} ({code})" if code else f"feature {index}"
