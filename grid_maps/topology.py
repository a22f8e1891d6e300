"""Topology checks between cells: sibling overlaps, containment in parents, gaps."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from .geometry import NOISE_M2, areas_m2, fmt_area, overlay, to_multipolygon
from .repair import fill_thin_gaps, repair_against_parent, snap_distance_deg
from .report import ValidationReport


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
    # Neighbours sharing a border intersect in lines: cheap, and skipped by the area test.
    shared = overlay(shapely.intersection, geoms[left], geoms[right])
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
    snap_deg = snap_distance_deg(tolerance_m2)
    for code in {c.parent_code for c in cells}:
        shapely.prepare(parents[code])
    for cell in cells:
        parent = parents[cell.parent_code]
        if repair:
            repair_against_parent(cell, parent, snap_deg, report)
        if parent.covers(cell.geometry):
            continue
        outside = overlay(shapely.difference, cell.geometry, parent)
        report_pieces(
            outside,
            tolerance_m2,
            report,
            ("outside_parent", "sliver_outside_parent"),
            f"cell {cell.code} extends outside its parent {cell.parent_code}",
            {"cell_code": cell.code, "other_code": cell.parent_code, "feature_index": cell.index},
        )


def check_gaps(
    cells: list,
    parents: dict[str, MultiPolygon],
    tolerance_m2: float,
    report: ValidationReport,
    *,
    repair: bool = False,
) -> None:
    """Record gap / sliver_gap where a parent is not covered by its children."""
    children = defaultdict(list)
    for cell in cells:
        children[cell.parent_code].append(cell)
    for code in sorted(parents):
        kids = children.get(code)
        if not kids:
            report.warning(
                "parent_without_children",
                f"parent {code} has no child cells in this import",
                cell_code=code,
            )
            continue
        gap = _uncovered(parents[code], kids)
        if repair and not gap.is_empty:
            if fill_thin_gaps(gap, kids, snap_distance_deg(tolerance_m2), report):
                gap = _uncovered(parents[code], kids)
        report_pieces(
            gap,
            tolerance_m2,
            report,
            ("gap", "sliver_gap"),
            f"parent {code} has area covered by no child",
            {"cell_code": code},
        )


def _uncovered(parent: MultiPolygon, kids: list) -> BaseGeometry:
    """Return the part of a parent that none of its children covers."""
    covered = shapely.union_all(np.array([k.geometry for k in kids], dtype=object))
    return overlay(shapely.difference, parent, covered)


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
            f"{what}, in slivers each within the {tolerance_m2:g} m² tolerance: "
            f"{_describe(pieces[small], areas[small])}"
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
