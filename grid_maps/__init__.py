"""Grid maps: read, validate, subdivide and look up grid cells (no Flask, no database)."""

from .geojson import CellFeature, read_feature_collection
from .geometry import area_m2, areas_m2, distance_m, to_multipolygon
from .levels import (
    DEFAULT_LEVELS,
    KNOWN_LEVELS,
    LevelsError,
    RootSpec,
    level_codes,
    normalise_levels,
    read_root,
)
from .lookup import CellIndex, cached_index, clear_index_cache
from .report import LEVELS, GeoJSONError, Problem, Repair, ValidationReport
from .subdivide import subdivide
from .validation import ValidCell, validate_cells

__all__ = [
    "DEFAULT_LEVELS",
    "KNOWN_LEVELS",
    "LEVELS",
    "CellFeature",
    "CellIndex",
    "GeoJSONError",
    "LevelsError",
    "Problem",
    "Repair",
    "RootSpec",
    "ValidCell",
    "ValidationReport",
    "area_m2",
    "areas_m2",
    "cached_index",
    "clear_index_cache",
    "distance_m",
    "level_codes",
    "normalise_levels",
    "read_feature_collection",
    "read_root",
    "subdivide",
    "to_multipolygon",
    "validate_cells",
]
