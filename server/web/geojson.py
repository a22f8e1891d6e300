"""Cells as GeoJSON for pages and API clients."""

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

from server.models.grid import LEVEL_LABELS


def cells_feature_collection(cells):
    """Return a GeoJSON FeatureCollection dict of cells."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": cell.id,
                "geometry": mapping(to_shape(cell.geom)),
                "properties": {
                    "id": cell.id, "code": cell.code, "name": cell.name, "level": cell.level,
                    "level_label": LEVEL_LABELS[cell.level][0], "parent_id": cell.parent_id,
                    "area_m2": round(cell.area_m2, 1),
                },
            }
            for cell in cells
        ],
    }
