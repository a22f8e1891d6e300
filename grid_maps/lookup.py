"""Find the grid cell covering a point, one at a time or a million at once."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from grid_maps.lru import BuildOnceCache


class CellIndex:
    """Map lon/lat points to the leaf cell covering them.

    A point covered by several cells (on a shared edge or vertex) belongs to the cell with
    the smallest code in string order, the rule the database query uses too
    (ST_Covers ... ORDER BY code LIMIT 1).
    """

    def __init__(self, cells: Sequence[tuple[object, str, BaseGeometry]]):
        cells = list(cells)
        self._keys = [key for key, _, _ in cells]
        self._key_array = np.empty(len(cells), dtype=object)
        for i, key in enumerate(self._keys):  # element-wise, so tuple keys stay whole
            self._key_array[i] = key
        codes = [str(code) for _, code, _ in cells]
        self._geoms = np.array([geom for _, _, geom in cells], dtype=object)
        if any(g is None for g in self._geoms):
            raise ValueError("every cell needs a geometry")
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        # rank[i] is cell i's position in code order, so ties break on a number.
        self._rank = np.empty(len(codes), dtype=np.int64)
        self._rank[sorted(range(len(codes)), key=codes.__getitem__)] = np.arange(len(codes))

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, lon: float, lat: float) -> object | None:
        """Return the key of the cell covering (lon, lat), or None."""
        hits = self._tree.query(shapely.points(float(lon), float(lat)), predicate="covered_by")
        if hits.size == 0:
            return None
        return self._keys[int(hits[np.argmin(self._rank[hits])])]

    def lookup_many(self, lons, lats) -> list:
        """Return, for each point, the key of the covering cell or None."""
        lons = np.asarray(lons, dtype=float).ravel()
        lats = np.asarray(lats, dtype=float).ravel()
        if lons.shape != lats.shape:
            raise ValueError(f"got {lons.size} longitudes but {lats.size} latitudes")
        result = np.full(lons.size, None, dtype=object)
        if lons.size == 0 or not self._keys:
            return result.tolist()
        point_idx, cell_idx = self._tree.query(shapely.points(lons, lats), predicate="covered_by")
        # Sort hits by point, then code rank; the first hit of each point wins.
        order = np.lexsort((self._rank[cell_idx], point_idx))
        point_idx, cell_idx = point_idx[order], cell_idx[order]
        first = np.ones(point_idx.size, dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        result[point_idx[first]] = self._key_array[cell_idx[first]]
        return result.tolist()


_cache = BuildOnceCache()


def cached_index(key: Hashable, build: Callable[[], CellIndex], maxsize: int = 8) -> CellIndex:
    """Return the index cached under key, building it (outside the lock) when missing.

    Keys must name something immutable, e.g. an active grid map's id.
    """
    return _cache.get(key, build, maxsize)


def clear_index_cache() -> None:
    """Forget every cached index."""
    _cache.clear()
