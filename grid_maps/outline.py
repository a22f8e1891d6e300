"""Cell outlines for drawing at a zoom: simplified to half a pixel, coordinates rounded to a
fraction of one, serialised once per map version and level (no Flask, no database)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from grid_maps.lru import BuildOnceCache

MAX_ZOOM = 18
# Web Mercator: a 256-pixel tile spans 360° of longitude at zoom 0.
_DEGREES_PER_PIXEL_Z0 = 360.0 / 256.0


def pixel_degrees(zoom: int) -> float:
    """Return the width of one screen pixel in degrees of longitude at a zoom."""
    return _DEGREES_PER_PIXEL_Z0 / 2**zoom


def tolerance(zoom: int) -> float:
    """Return the simplification tolerance at a zoom, in degrees: half a pixel."""
    return pixel_degrees(zoom) / 2


def decimals(zoom: int) -> int:
    """Return the decimals that keep rounding under a quarter of a pixel (2 at z5, 6 at z18)."""
    return max(1, min(6, math.ceil(math.log10(4 / pixel_degrees(zoom)))))


def outlines(cells: Sequence[tuple[Hashable, BaseGeometry, dict]], zoom: int) -> dict:
    """Return {key: (GeoJSON Feature text, bounds)} for cells simplified for a zoom.

    cells: (key, geometry, properties); the feature's id is the key. Bounds are the
    original geometry's (minx, miny, maxx, maxy).
    """
    if not 0 <= zoom <= MAX_ZOOM:
        raise ValueError(f"zoom must be 0..{MAX_ZOOM}, not {zoom}")
    if not cells:
        return {}
    geometries = np.array([geometry for _, geometry, _ in cells], dtype=object)
    simplified = shapely.simplify(geometries, tolerance(zoom), preserve_topology=True)
    digits = decimals(zoom)
    result = {}
    for (key, geometry, properties), shape in zip(cells, simplified):
        feature = {"type": "Feature", "id": key, "geometry": _rounded(shape, digits),
                   "properties": properties}
        result[key] = (json.dumps(feature, ensure_ascii=False, separators=(",", ":")),
                       tuple(float(v) for v in geometry.bounds))
    return result


def _rounded(geometry: BaseGeometry, digits: int) -> dict:
    """Return a (Multi)Polygon as a GeoJSON dict, coordinates rounded, repeats dropped."""
    polygons = getattr(geometry, "geoms", [geometry])
    rings = [[_ring(polygon.exterior.coords, digits)]
             + [_ring(hole.coords, digits) for hole in polygon.interiors]
             for polygon in polygons if not polygon.is_empty]
    # A hole rounded down to a point or a line is not worth drawing.
    rings = [[shell, *[hole for hole in holes if len(hole) >= 4]] for shell, *holes in rings]
    if len(rings) == 1:
        return {"type": "Polygon", "coordinates": rings[0]}
    return {"type": "MultiPolygon", "coordinates": rings}


def _ring(coords, digits: int) -> list:
    points = np.round(np.asarray(coords, dtype=float)[:, :2], digits)
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)
    return points[keep].tolist()


_cache = BuildOnceCache()


def cached_outlines(key: Hashable, build: Callable[[], dict], maxsize: int = 64) -> dict:
    """Return the outlines cached under key (an immutable map version, level and zoom),
    building them outside the lock when missing."""
    return _cache.get(key, build, maxsize)


def clear_outline_cache() -> None:
    """Forget every cached outline (tests)."""
    _cache.clear()
