"""Grid maps: drafts, importing levels from GeoJSON, validation, activation."""

from flask import current_app, request
from flask_smorest import Blueprint

from server.authentication import current_user
from server.db import transaction
from server.errors import ValidationFailed
from server.extensions import db
from server.schemas.common import PageArgs
from server.schemas.maps import (
    ActivationResult,
    FileOptions,
    ImportOptions,
    MapCreate,
    MapSchema,
    ReportSchema,
)
from server.services import grid as grid_service
from server.services.cells import map_cells
from server.services.scope import get_map_in_scope
from server.web.geojson import cells_feature_collection

blp = Blueprint("maps", __name__, description="Grid maps (网格地图) and their versions")

GEOJSON_BODY = {
    "required": True,
    "content": {"application/geo+json": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}}},
    "description": "A GeoJSON FeatureCollection of Polygon/MultiPolygon features in WGS84.",
}


def _tolerance(options):
    return options.get("tolerance_m2", current_app.config["SLIVER_TOLERANCE_M2"])


def _body():
    data = request.get_data(cache=False)
    if not data:
        raise ValidationFailed("The request body is empty; send a GeoJSON FeatureCollection.",
                               code="empty_body")
    return data


@blp.get("/")
@blp.arguments(PageArgs, location="query")
@blp.response(200, MapSchema(many=True))
def list_maps(args):
    """List grid maps that hold cells in your scope (admins: all)."""
    return grid_service.list_maps(db.session, current_user(), **args)


@blp.post("/")
@blp.arguments(MapCreate)
@blp.response(201, MapSchema)
def create_map(data):
    """Start a new draft version of a jurisdiction's map (admin)."""
    current_user("admin")
    with transaction():
        return grid_service.create_map(db.session, **data, actor=current_user())


@blp.get("/<int(max=2147483647):map_id>")
@blp.response(200, MapSchema)
def get_map(map_id):
    """Return one map."""
    return get_map_in_scope(db.session, current_user(), map_id)


@blp.post("/<int(max=2147483647):map_id>/levels")
@blp.arguments(ImportOptions, location="query")
@blp.doc(requestBody=GEOJSON_BODY)
@blp.response(201, ReportSchema)
def import_level(options, map_id):
    """Import one level of cells into a draft map; with any error nothing is stored (admin)."""
    user = current_user("admin")
    grid_map = get_map_in_scope(db.session, user, map_id)
    data = _body()
    with transaction():
        report = grid_service.import_level(
            db.session, grid_map, data, level=options["level"],
            code_property=options["code_property"], name_property=options["name_property"],
            parent_property=options.get("parent_property"), link=options.get("link"),
            tolerance_m2=_tolerance(options), repair=options["repair"], root=_root(options),
            actor=user,
        )
    return report.to_dict()


def _root(options):
    if "root_code" not in options:
        return None
    return {"code": options["root_code"], "name": options["root_name"],
            "level": options["root_level"]}


@blp.post("/validate-file")
@blp.arguments(FileOptions, location="query")
@blp.doc(requestBody=GEOJSON_BODY)
@blp.response(200, ReportSchema)
def validate_file(options):
    """Check a boundary file on its own (one level, no parent); stores nothing."""
    current_user("supervisor")
    _, report = grid_service.check_file(
        _body(), code_property=options["code_property"], name_property=options["name_property"],
        parent_property=options.get("parent_property"), tolerance_m2=_tolerance(options),
        repair=options["repair"],
    )
    return report.to_dict()


@blp.post("/<int(max=2147483647):map_id>/validate")
@blp.arguments(FileOptions(only=("tolerance_m2",)), location="query")
@blp.response(200, ReportSchema)
def validate_map(options, map_id):
    """Check every level of a stored map against the level above it (admin: it names every cell)."""
    user = current_user("admin")
    grid_map = get_map_in_scope(db.session, user, map_id)
    return grid_service.validate_map(db.session, grid_map, tolerance_m2=_tolerance(options)).to_dict()


@blp.post("/<int(max=2147483647):map_id>/activate")
@blp.arguments(FileOptions(only=("tolerance_m2",)), location="query")
@blp.response(200, ActivationResult)
def activate_map(options, map_id):
    """Activate a valid draft; the previous version is retired and assignments follow (admin)."""
    user = current_user("admin")
    grid_map = get_map_in_scope(db.session, user, map_id)
    with transaction():
        return grid_service.activate_map(db.session, grid_map, tolerance_m2=_tolerance(options),
                                         actor=user)


@blp.get("/<int(max=2147483647):map_id>/cells.geojson")
@blp.response(200, description="A GeoJSON FeatureCollection of the cells in your scope.")
def map_cells_geojson(map_id):
    """Return the map's cells in your scope as GeoJSON."""
    return cells_feature_collection(map_cells(db.session, current_user(), map_id))
