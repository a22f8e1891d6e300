"""Topology checks between cells: sibling overlaps, containment in parents, gaps."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from .geometry import M_PER_DEG_LAT, area_m2, areas_m2, to_multipolygon
from .report import Repair, ValidationReport

# Pieces smaller than this are floating-point noise from overlay operations, not slivers.
NOISE_M2 = 1e-3
# Overlay precision used only when the exact overlay fails (about 0.1 mm in degrees).
_FALLBACK_GRID = 1e-9


def check_overlaps(cells: list, tolerance_m2: float, report: ValidationReport, *, by_parent: bool) -> None:
    """Record overlap / sliver_overlap for every pair of (sibling) cells sharing area."""
    if len(cells) < 2:
        return
    geoms = np.array([c.geometry for c in cells], dtype=object)
    shapely.prepare(geoms)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    if by_parent:
        parent_codes = np.array([c.parent_code for c in cells], dtype=object)
        keep &= parent_codes[left] == parent_codes[right]
    left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    shared = _overlay(shapely.intersection, geoms[left], geoms[right])
    has_area = shapely.area(shared) > 0
    for i, j, region in zip(left[has_area], right[has_area], shared[has_area]):
        a, b = cells[i], cells[j]
        report_pieces(
            region,
            tolerance_m2,
            report,
            ("overlap", "sliver_overlap"),
            f"cells {a.code} and {b.code} overlap",
            {"cell_code": a.code, "other_code": b.code, "feature_index": a.index},
        )


def check_containment(
    cells: list, parents: dict[str, MultiPolygon], tolerance_m2: float, repair: bool, report: ValidationReport
) -> None:
    """Record outside_parent / sliver_outside_parent; with repair, snap and clip to the parent."""
    snap_deg = math.sqrt(tolerance_m2) / M_PER_DEG_LAT
    for code in {c.parent_code for c in cells}:
        shapely.prepare(parents[code])
    for cell in cells:
        parent = parents[cell.parent_code]
        if repair:
            _repair_against_parent(cell, parent, snap_deg, report)
        if parent.covers(cell.geometry):
            continue
        outside = _overlay(shapely.difference, cell.geometry, parent)
        report_pieces(
            outside,
            tolerance_m2,
            report,
            ("outside_parent", "sliver_outside_parent"),
            f"cell {cell.code} extends outside its parent {cell.parent_code}",
            {"cell_code": cell.code, "other_code": cell.parent_code, "feature_index": cell.index},
        )


def check_gaps(cells: list, parents: dict[str, MultiPolygon], tolerance_m2: float, report: ValidationReport) -> None:
    """Record gap / sliver_gap where a parent is not covered by its children."""
    children = defaultdict(list)
    for cell in cells:
        children[cell.parent_code].append(cell.geometry)
    for code in sorted(parents):
        geoms = children.get(code)
        if not geoms:
            report.warning(
                "parent_without_children",
                f"parent {code} has no child cells in this import",
                cell_code=code,
            )
            continue
        covered = shapely.union_all(np.array(geoms, dtype=object))
        gap = _overlay(shapely.difference, parents[code], covered)
        report_pieces(
            gap,
            tolerance_m2,
            report,
            ("gap", "sliver_gap"),
            f"parent {code} has area covered by no child",
            {"cell_code": code},
        )


def report_pieces(
    region: BaseGeometry,
    tolerance_m2: float,
    report: ValidationReport,
    codes: tuple[str, str],
    what: str,
    where: dict,
) -> None:
    """Record an error for pieces above the tolerance and a warning for smaller slivers."""
    pieces = np.array(to_multipolygon(region).geoms, dtype=object)
    if pieces.size == 0:
        return
    areas = areas_m2(pieces)
    big = areas > tolerance_m2
    small = (areas > NOISE_M2) & ~big
    error_code, warning_code = codes
    if big.any():
        message = f"{what}: {_describe(pieces[big], areas[big])}"
        report.error(error_code, message, **_locate(pieces[big], areas[big]), **where)
    if small.any():
        message = (
            f"{what} by slivers: {_describe(pieces[small], areas[small])} "
            f"(each within the {tolerance_m2:g} m² tolerance)"
        )
        report.warning(warning_code, message, **_locate(pieces[small], areas[small]), **where)


def _locate(pieces: np.ndarray, areas: np.ndarray) -> dict:
    """Return point and bbox of the largest piece and the total area."""
    largest = pieces[int(np.argmax(areas))]
    point = shapely.point_on_surface(largest)
    return {
        "point": (round(float(point.x), 7), round(float(point.y), 7)),
        "bbox": tuple(round(float(v), 7) for v in largest.bounds),
        "area_m2": round(float(areas.sum()), 3),
    }


def _describe(pieces: np.ndarray, areas: np.ndarray) -> str:
    """Say how much area in how many pieces, and where the largest is."""
    largest = pieces[int(np.argmax(areas))]
    point = shapely.point_on_surface(largest)
    text = f"{fmt_area(float(areas.sum()))} in {len(pieces)} piece(s)"
    if len(pieces) > 1:
        text += f", the largest {fmt_area(float(areas.max()))}"
    return text + f" near ({point.x:.6f}, {point.y:.6f})"


def fmt_area(value: float) -> str:
    """Format an area in m² for messages."""
    return f"{value:,.0f} m²" if value >= 10 else f"{value:.2f} m²"


def _repair_against_parent(cell, parent: MultiPolygon, snap_deg: float, report: ValidationReport) -> None:
    """Snap a cell's vertices onto its parent's boundary, then clip what still sticks out."""
    original = cell.geometry
    if snap_deg > 0:
        minx, miny, maxx, maxy = original.bounds
        # Snapping only looks at the part of the parent boundary near the cell, which keeps
        # it fast when the parent is large.
        nearby = shapely.clip_by_rect(
            parent.boundary, minx - snap_deg, miny - snap_deg, maxx + snap_deg, maxy + snap_deg
        )
        if not nearby.is_empty:
            snapped = to_multipolygon(shapely.make_valid(shapely.snap(original, nearby, snap_deg)))
            moved = area_m2(_overlay(shapely.symmetric_difference, snapped, original))
            if not snapped.is_empty and moved > NOISE_M2:
                cell.geometry = snapped
                report.repairs.append(
                    Repair(
                        cell.code,
                        "snap_to_parent",
                        f"cell {cell.code}: moved vertices within {snap_deg * M_PER_DEG_LAT:.1f} m onto "
                        f"the boundary of parent {cell.parent_code}, changing {fmt_area(moved)}",
                    )
                )
    if parent.covers(cell.geometry):
        return
    clipped = to_multipolygon(_overlay(shapely.intersection, cell.geometry, parent))
    removed = area_m2(_overlay(shapely.difference, cell.geometry, parent))
    if removed > NOISE_M2 and area_m2(clipped) > NOISE_M2:
        cell.geometry = clipped
        report.repairs.append(
            Repair(
                cell.code,
                "clip_to_parent",
                f"cell {cell.code}: cut off {fmt_area(removed)} lying outside parent {cell.parent_code}",
            )
        )


def _overlay(operation, a, b):
    """Run a shapely overlay, retrying on a fine precision grid if GEOS gives up."""
    try:
        return operation(a, b)
    except GEOSException:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
            return np.array([_overlay(operation, x, y) for x, y in zip(a, b)], dtype=object)
        return operation(a, b, grid_size=_FALLBACK_GRID)
