"""Validate grid cells: per-cell checks, codes, parent links, then topology."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from .geojson import POLYGONAL_TYPES, CellFeature
from .geometry import NOISE_M2, area_m2, areas_m2, fmt_area, to_multipolygon
from .report import Repair, ValidationReport
from .topology import check_containment, check_gaps, check_overlaps

LINKS = ("code", "containment")
_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


@dataclass
class ValidCell:
    """A grid cell fit for import: code, name, valid MultiPolygon and parent code."""

    code: str
    name: str
    geometry: MultiPolygon
    parent_code: str | None
    index: int


def validate_cells(
    features: list[CellFeature],
    *,
    parents: Mapping[str, BaseGeometry] | None = None,
    link: str = "code",
    sliver_tolerance_m2: float = 100.0,
    repair: bool = False,
    report: ValidationReport | None = None,
) -> tuple[list[ValidCell], ValidationReport]:
    """Check cells (against their parents when given) and return the importable ones.

    Returned cells exclude those with a problem of their own (unreadable, invalid geometry
    without repair, repeated code, no parent); cells that merely overlap, leave gaps or stick
    out of their parent are returned, the report's errors saying what is wrong.
    report.cell_count is the number of cells returned.
    """
    if link not in LINKS:
        raise ValueError(f"link must be one of {LINKS}, not {link!r}")
    if not sliver_tolerance_m2 >= 0:
        raise ValueError("sliver_tolerance_m2 must be a number >= 0")
    report = ValidationReport() if report is None else report
    cells, rejected = _usable_cells(features, repair, report)
    cells = _without_repeats(cells, report)
    if parents is None:
        check_overlaps(cells, sliver_tolerance_m2, report, by_parent=False)
    else:
        parent_geoms = {str(code): to_multipolygon(g) for code, g in parents.items()}
        if link == "code":
            cells = _link_by_code(cells, parent_geoms, report)
        else:
            cells = _link_by_containment(cells, parent_geoms, report)
        check_containment(cells, parent_geoms, sliver_tolerance_m2, repair, report)
        check_overlaps(cells, sliver_tolerance_m2, report, by_parent=True)
        check_gaps(cells, parent_geoms, sliver_tolerance_m2, report, repair=repair)
    valid = [c for c in cells if id(c) not in rejected]
    report.cell_count = len(valid)
    return valid, report


def _usable_cells(
    features: list[CellFeature], repair: bool, report: ValidationReport
) -> tuple[list[ValidCell], set[int]]:
    """Return cells with a usable geometry, and the ids of those not to be returned."""
    read_errors = {p.feature_index for p in report.errors if p.feature_index is not None}
    cells: list[ValidCell] = []
    rejected: set[int] = set()
    for feature in features:
        fatal = _fatal_problem(feature)
        if fatal is not None:
            if feature.index not in read_errors:
                code, message = fatal
                report.error(code, message, cell_code=feature.code, feature_index=feature.index)
            continue
        geometry, fine = _valid_geometry(feature, repair, report)
        if geometry is None:
            continue
        cell = ValidCell(feature.code, feature.name or "", geometry, feature.parent_code, feature.index)
        if not fine or feature.index in read_errors:
            rejected.add(id(cell))
        cells.append(cell)
    return cells, rejected


def _fatal_problem(feature: CellFeature) -> tuple[str, str] | None:
    """Return (code, message) when a feature cannot be a cell at all."""
    label = f"feature {feature.index}" + (f" ({feature.code})" if feature.code else "")
    geometry = feature.geometry
    if feature.code is None:
        return "missing_property", f"{label} has no cell code"
    if geometry is None:
        return "empty_geometry", f"{label} has no geometry"
    if geometry.geom_type not in POLYGONAL_TYPES:
        return "not_polygon", f"{label}: geometry is a {geometry.geom_type}, expected Polygon or MultiPolygon"
    if geometry.is_empty:
        return "empty_geometry", f"{label}: geometry is empty"
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return (
            "coordinates_out_of_range",
            f"{label}: coordinates outside lon [-180, 180] / lat [-90, 90]: "
            "projected coordinates (metres)? convert to WGS84 / EPSG:4326",
        )
    return None


def _valid_geometry(
    feature: CellFeature, repair: bool, report: ValidationReport
) -> tuple[MultiPolygon | None, bool]:
    """Return (geometry, is_fine): made valid when invalid, None when nothing is left."""
    geometry = to_multipolygon(feature.geometry)
    if geometry.is_valid:
        if area_m2(geometry) <= NOISE_M2:
            report.error("empty_geometry", f"cell {feature.code}: the polygon has no area",
                         cell_code=feature.code, feature_index=feature.index)
            return None, False
        return geometry, True
    reason = shapely.is_valid_reason(geometry)
    point = _reason_point(reason)
    where = {"cell_code": feature.code, "feature_index": feature.index, "point": point}
    fixed = to_multipolygon(shapely.make_valid(geometry))
    if fixed.is_empty or area_m2(fixed) <= NOISE_M2:
        report.error(
            "invalid_geometry",
            f"cell {feature.code}: invalid geometry ({reason}) and no area is left once repaired",
            **where,
        )
        return None, False
    if repair:
        report.repairs.append(
            Repair(
                feature.code,
                "make_valid",
                f"cell {feature.code}: repaired invalid geometry ({reason}); "
                f"area is now {fmt_area(area_m2(fixed))} in {len(fixed.geoms)} part(s)",
            )
        )
        return fixed, True
    report.error(
        "invalid_geometry",
        f"cell {feature.code}: invalid geometry: {reason} (import with repair to fix it)",
        **where,
    )
    # The repaired shape stands in for the rest of the checks, so that one bad ring does not
    # also show up as a gap or a crash, but the cell is not returned.
    return fixed, False


def _reason_point(reason: str) -> tuple[float, float] | None:
    """Return the lon, lat that GEOS names in an invalidity reason."""
    match = _REASON_POINT.search(reason)
    if match is None:
        return None
    try:
        return float(match.group(1)), float(match.group(2))
    except ValueError:
        return None


def _without_repeats(cells: list[ValidCell], report: ValidationReport) -> list[ValidCell]:
    """Drop cells whose code repeats an earlier one, recording an error for each."""
    first: dict[str, int] = {}
    kept = []
    for cell in cells:
        if cell.code in first:
            report.error(
                "duplicate_code",
                f"cell code {cell.code} of feature {cell.index} repeats feature {first[cell.code]}",
                cell_code=cell.code,
                feature_index=cell.index,
            )
            continue
        first[cell.code] = cell.index
        kept.append(cell)
    return kept


def _link_by_code(
    cells: list[ValidCell], parents: dict[str, MultiPolygon], report: ValidationReport
) -> list[ValidCell]:
    """Keep cells whose parent code names a parent; record unknown_parent for the rest."""
    unread = {p.feature_index for p in report.problems if p.code == "missing_property"}
    linked = []
    for cell in cells:
        if cell.parent_code in parents:
            linked.append(cell)
        elif cell.parent_code is None:
            if cell.index not in unread:
                report.error(
                    "unknown_parent",
                    f"cell {cell.code} has no parent code",
                    cell_code=cell.code,
                    feature_index=cell.index,
                )
        else:
            report.error(
                "unknown_parent",
                f"cell {cell.code} names parent {cell.parent_code}, which is not a cell of the level above",
                cell_code=cell.code,
                feature_index=cell.index,
                other_code=cell.parent_code,
            )
    return linked


def _link_by_containment(
    cells: list[ValidCell], parents: dict[str, MultiPolygon], report: ValidationReport
) -> list[ValidCell]:
    """Give each cell the parent it shares the most area with; record no_parent when none."""
    if not cells:
        return []
    codes = sorted(parents)
    tree_geoms = np.array([parents[c] for c in codes], dtype=object)
    tree = shapely.STRtree(tree_geoms)
    child_geoms = np.array([c.geometry for c in cells], dtype=object)
    child_idx, parent_idx = tree.query(child_geoms, predicate="intersects")
    candidates: dict[int, list[int]] = {}
    for ci, pi in zip(child_idx.tolist(), parent_idx.tolist()):
        candidates.setdefault(ci, []).append(pi)
    linked = []
    for i, cell in enumerate(cells):
        best = _best_parent(cell.geometry, candidates.get(i, []), tree_geoms)
        if best is None:
            report.error(
                "no_parent",
                f"cell {cell.code} lies inside none of the {len(codes)} cells of the level above",
                cell_code=cell.code,
                feature_index=cell.index,
                point=_surface_point(cell.geometry),
                bbox=tuple(float(v) for v in cell.geometry.bounds),
            )
            continue
        cell.parent_code = codes[best]
        linked.append(cell)
    return linked


def _best_parent(geometry: MultiPolygon, candidates: list[int], parents: np.ndarray) -> int | None:
    """Return the candidate parent sharing the most area (ties: smallest code), or None."""
    if not candidates:
        return None
    candidates = sorted(candidates)
    covering = [p for p in candidates if shapely.covers(parents[p], geometry)]
    if covering:
        return min(covering)  # parents are sorted by code
    shared = areas_m2(shapely.intersection(parents[candidates], geometry))
    best = int(np.argmax(shared))  # first maximum: smallest code among equals
    return candidates[best] if shared[best] > NOISE_M2 else None


def _surface_point(geometry: BaseGeometry) -> tuple[float, float]:
    """Return a point inside a geometry as (lon, lat)."""
    point = shapely.point_on_surface(geometry)
    return float(point.x), float(point.y)
