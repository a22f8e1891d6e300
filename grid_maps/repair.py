"""Repairs for children that almost fit their parent: snap, clip, fill thin gaps."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from .geometry import M_PER_DEG_LAT, NOISE_M2, area_m2, areas_m2, fmt_area, overlay, to_multipolygon
from .report import Repair, ValidationReport


def snap_distance_deg(tolerance_m2: float) -> float:
    """Return the snap distance in degrees: the side of a square of the sliver tolerance."""
    return math.sqrt(tolerance_m2) / M_PER_DEG_LAT


def repair_against_parent(cell, parent: MultiPolygon, snap_deg: float, report: ValidationReport) -> None:
    """Snap a cell's outside vertices onto its parent's boundary, then clip what still sticks out."""
    original = cell.geometry
    snapped = snap_vertices(original, parent, snap_deg) if snap_deg > 0 else None
    if snapped is not None and not snapped.is_empty:
        moved = area_m2(overlay(shapely.symmetric_difference, snapped, original))
        if moved > NOISE_M2:
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
    clipped = valid_multipolygon(overlay(shapely.intersection, cell.geometry, parent))
    removed = area_m2(overlay(shapely.difference, cell.geometry, parent))
    if removed > NOISE_M2 and area_m2(clipped) > NOISE_M2:
        cell.geometry = clipped
        report.repairs.append(
            Repair(
                cell.code,
                "clip_to_parent",
                f"cell {cell.code}: cut off {fmt_area(removed)} lying outside parent {cell.parent_code}",
            )
        )


def snap_vertices(geometry: MultiPolygon, parent: MultiPolygon, snap_deg: float) -> MultiPolygon | None:
    """Move each vertex lying outside the parent, within snap_deg of it, onto its boundary.

    Vertices inside are left alone, even near the boundary: moving them would change cells
    that already fit (a T-junction near the boundary would open an overlap).
    Each vertex goes to the nearest point of the boundary, by its own coordinates alone, so a
    vertex shared by two siblings moves the same way in both and their common edge stays
    common; shapely.snap does not promise that and was seen to make siblings overlap. Moving
    to the nearest point (not the nearest parent vertex) keeps vertices where siblings meet
    the boundary from sliding along it. What is left between a child's edge and a curved
    parent boundary is a thin gap, which fill_thin_gaps closes.
    """
    minx, miny, maxx, maxy = geometry.bounds
    # Only the part of the parent boundary near the cell matters; clipping keeps it fast.
    nearby = shapely.clip_by_rect(
        parent.boundary, minx - snap_deg, miny - snap_deg, maxx + snap_deg, maxy + snap_deg
    )
    if nearby.is_empty:
        return None
    coords = shapely.get_coordinates(geometry)
    points = shapely.points(coords)
    shapely.prepare(nearby)
    near = shapely.dwithin(points, nearby, snap_deg) & ~shapely.covers(parent, points)
    if not near.any():
        return None
    targets = shapely.get_coordinates(shapely.shortest_line(points[near], nearby))[1::2]
    moved = coords.copy()
    moved[near] = targets
    snapped = shapely.transform(geometry, lambda _: moved)
    return valid_multipolygon(snapped)


def fill_thin_gaps(gap: BaseGeometry, kids: list, snap_deg: float, report: ValidationReport) -> bool:
    """Give each gap piece narrower than the snap distance to the child it borders most.

    Returns True when some piece was filled. Wider gaps are left alone: they are more likely
    a missing cell than a drawing error, and stay errors for a person to look at.
    """
    pieces = [p for p in to_multipolygon(gap).geoms if shapely.buffer(p, -snap_deg / 2).is_empty]
    pieces = [p for p in pieces if area_m2(p) > NOISE_M2]
    if not pieces or snap_deg <= 0:
        return False
    geoms = np.array([k.geometry for k in kids], dtype=object)
    tree = shapely.STRtree(geoms)
    taken: dict[int, list] = {}
    for piece in pieces:
        halo = shapely.buffer(piece, snap_deg)
        candidates = np.sort(tree.query(halo, predicate="intersects"))
        if candidates.size == 0:
            continue
        touching = areas_m2(overlay(shapely.intersection, geoms[candidates], halo))
        taken.setdefault(int(candidates[int(np.argmax(touching))]), []).append(piece)
    for i in sorted(taken):
        kid, added = kids[i], taken[i]
        kid.geometry = valid_multipolygon(shapely.union_all([kid.geometry, *added]))
        report.repairs.append(
            Repair(
                kid.code,
                "fill_gap",
                f"cell {kid.code}: took in {len(added)} gap piece(s) narrower than "
                f"{snap_deg * M_PER_DEG_LAT:.1f} m, {fmt_area(sum(area_m2(p) for p in added))} in all",
            )
        )
    return bool(taken)


def valid_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    """Return the polygonal parts of a geometry as a valid MultiPolygon."""
    polygon = to_multipolygon(geometry)
    return polygon if polygon.is_valid else to_multipolygon(shapely.make_valid(polygon))
