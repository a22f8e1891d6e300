"""Small geometry helpers on lon/lat (WGS84) coordinates."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

# Metres per degree: longitude at the equator, latitude (mean). Good enough for tolerances.
M_PER_DEG_LON = 111_320.0
M_PER_DEG_LAT = 110_574.0
EARTH_RADIUS_M = 6_371_008.8
# Pieces smaller than this are floating-point noise from overlay operations, not slivers.
NOISE_M2 = 1e-3
# Overlay precision used only when the exact overlay fails (about 0.1 mm in degrees).
_FALLBACK_GRID = 1e-9


def to_multipolygon(geom: BaseGeometry | None) -> MultiPolygon:
    """Return the polygonal parts of a geometry as one MultiPolygon (empty if none)."""
    if geom is None or geom.is_empty:
        return MultiPolygon()
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [p for p in _polygons(geom) if not p.is_empty]
    return MultiPolygon(parts)


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    """Flatten a geometry into its polygons, dropping points and lines."""
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    if hasattr(geom, "geoms"):  # GeometryCollection
        return [p for part in geom.geoms for p in _polygons(part)]
    return []


def area_m2(geom: BaseGeometry | None) -> float:
    """Return the approximate area in m², scaled at the geometry's centroid latitude."""
    if geom is None or geom.is_empty:
        return 0.0
    return float(areas_m2(np.array([geom], dtype=object))[0])


def areas_m2(geoms) -> np.ndarray:
    """Return approximate areas in m² for an array of geometries (0 for empty/None)."""
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return np.zeros(0)
    deg2 = shapely.area(geoms)
    lat = shapely.get_y(shapely.centroid(geoms))
    scale = M_PER_DEG_LON * M_PER_DEG_LAT * np.cos(np.radians(np.nan_to_num(lat)))
    return np.nan_to_num(deg2 * scale)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Return the great-circle (haversine) distance in metres between two points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def overlay(operation, a, b):
    """Run a shapely overlay (intersection, difference, ...), retrying on a fine grid if GEOS fails."""
    try:
        return operation(a, b)
    except GEOSException:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
            return np.array([overlay(operation, x, y) for x, y in zip(a, b)], dtype=object)
        return operation(a, b, grid_size=_FALLBACK_GRID)


def fmt_area(value: float) -> str:
    """Format an area in m² for messages."""
    return f"{value:,.0f} m²" if value >= 10 else f"{value:.2f} m²"
