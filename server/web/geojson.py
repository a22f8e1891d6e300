"""Cells as GeoJSON for pages and API clients."""

import gzip

from flask import make_response, request
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

from grid_maps.outline import MAX_ZOOM
from server.errors import ValidationFailed
from server.models.grid import LEVEL_LABELS, LEVELS
from server.services.cells import LEVEL_ZOOM

GZIP_MIN_BYTES = 1024


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
                    "level_label": LEVEL_LABELS.get(cell.level, (cell.level,))[0],
                    "parent_id": cell.parent_id,
                    "area_m2": round(cell.area_m2, 1),
                },
            }
            for cell in cells
        ],
    }


def outline_args(args):
    """Return (level, zoom) from a query string, or raise ValidationFailed naming the problem."""
    level = args.get("level")
    if level not in LEVELS:
        raise ValidationFailed(f"level must be one of {', '.join(LEVELS)}.", code="bad_level",
                               details={"level": [f"one of {list(LEVELS)}"]})
    zoom = args.get("zoom", str(LEVEL_ZOOM[level]))
    if not zoom.isdigit() or not 0 <= int(zoom) <= MAX_ZOOM:
        raise ValidationFailed(f"zoom must be a whole number 0..{MAX_ZOOM}.", code="bad_zoom",
                               details={"zoom": [f"0..{MAX_ZOOM}"]})
    return level, int(zoom)


def outline_response(tag, features):
    """Answer 304 when the browser holds this tag, else the FeatureCollection (gzipped when
    accepted), built from the cached feature texts without parsing them again."""
    if request.if_none_match.contains_weak(tag):
        response = make_response("", 304)
    else:
        body = ('{"type":"FeatureCollection","features":['
                + ",".join(text for _, text, _ in features()) + "]}").encode()
        response = make_response(body)
        response.content_type = "application/geo+json"
        if len(body) >= GZIP_MIN_BYTES and "gzip" in request.accept_encodings:
            response.set_data(gzip.compress(body, compresslevel=6))
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(tag, weak=True)
    # The body depends on who asks (scope): browsers may keep it but must ask again.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Accept-Encoding"))
    return response
