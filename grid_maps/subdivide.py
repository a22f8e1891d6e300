"""Cut a polygon into pieces of roughly equal area that tile it exactly."""

from __future__ import annotations

import math

import shapely
from shapely.geometry import MultiPolygon, box
from shapely.geometry.base import BaseGeometry

from .geometry import area_m2, to_multipolygon

MAX_PIECES = 1000
# Stop the cut search once the split is this close to the wanted area fraction.
_FRACTION_TOLERANCE = 1e-5
_MAX_STEPS = 60


def subdivide(geometry: BaseGeometry, n: int) -> list[MultiPolygon]:
    """Split a (Multi)Polygon into n pieces of near-equal area, ordered west→east, north→south.

    Recursive bisection: each step cuts along the longer side of the bounding box with a
    straight line placed so that the two sides hold k : n-k of the area (k = n // 2). One
    side is the intersection with a half-plane box, the other the difference, so the pieces
    cover the geometry exactly and share only their cut lines.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an integer, not {type(n).__name__}")
    if not 1 <= n <= MAX_PIECES:
        raise ValueError(f"n must be between 1 and {MAX_PIECES}, not {n}")
    polygon = to_multipolygon(geometry)
    if polygon.is_empty or polygon.area == 0:
        raise ValueError("cannot subdivide a geometry without polygonal area")
    if not polygon.is_valid:
        raise ValueError(f"cannot subdivide an invalid geometry: {shapely.is_valid_reason(polygon)}")
    if n == 1:
        return [polygon]
    return _split(polygon, n)


def _split(polygon: MultiPolygon, n: int) -> list[MultiPolygon]:
    """Split recursively into n pieces."""
    if n == 1:
        return [polygon]
    k = n // 2
    first, second = _bisect(polygon, k / n)
    return _split(first, k) + _split(second, n - k)


def _bisect(polygon: MultiPolygon, fraction: float) -> tuple[MultiPolygon, MultiPolygon]:
    """Cut so the first (west or north) piece holds `fraction` of the area."""
    minx, miny, maxx, maxy = polygon.bounds
    pad = max(maxx - minx, maxy - miny) + 1.0
    total = area_m2(polygon)
    width_m = (maxx - minx) * math.cos(math.radians((miny + maxy) / 2))
    if width_m >= maxy - miny:
        def half(t: float):
            return box(minx - pad, miny - pad, t, maxy + pad)  # west of x = t
        low, high = minx, maxx
    else:
        def half(t: float):
            return box(minx - pad, t, maxx + pad, maxy + pad)  # north of y = t
        low, high = maxy, miny  # moving the cut south grows the north piece
    best = None
    for _ in range(_MAX_STEPS):
        t = (low + high) / 2
        first = to_multipolygon(shapely.intersection(polygon, half(t)))
        share = area_m2(first) / total
        if best is None or abs(share - fraction) < abs(best[1] - fraction):
            best = (t, share, first)
        if abs(share - fraction) <= _FRACTION_TOLERANCE:
            break
        if share < fraction:
            low = t
        else:
            high = t
    t, _, first = best
    second = to_multipolygon(shapely.difference(polygon, half(t)))
    if first.is_empty or second.is_empty:
        raise ValueError("cannot cut this geometry into pieces with area")
    return first, second
