"""Grid cells: browse your scope, look up the cell of a point, subdivide a draft cell."""

from flask_smorest import Blueprint

from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.schemas.cells import (
    CellQuery,
    CellSchema,
    CellWithGeometry,
    LookupQuery,
    LookupResult,
    SubdivideRequest,
)
from server.services import cells as service
from server.services.grid import subdivide_cell
from server.services.scope import get_cell_in_scope

blp = Blueprint("cells", __name__, description="Grid cells (网格) in your scope")


@blp.get("/")
@blp.arguments(CellQuery, location="query")
@blp.response(200, CellSchema(many=True))
def list_cells(args):
    """List cells in your scope, filtered by map, level or parent.

    Geometry: GET /cells/{id} for one, /maps/{id}/cells.geojson for many.
    """
    return service.list_cells(db.session, current_user(), **args)


@blp.get("/<int(max=2147483647):cell_id>")
@blp.response(200, CellWithGeometry)
def get_cell(cell_id):
    """Return one cell with its geometry."""
    return get_cell_in_scope(db.session, current_user(), cell_id)


@blp.get("/lookup")
@blp.arguments(LookupQuery, location="query")
@blp.response(200, LookupResult)
def lookup(args):
    """Find the lowest cell of an active map (or of map_id) covering a WGS84 point.

    A point on a shared border belongs to the cell with the smallest code. A point in
    no cell, or in a cell outside your scope, answers {"cell": null}.
    """
    cell = service.lookup_cell(db.session, current_user(), **args)
    return {"cell": cell, "map_id": cell.map_id if cell else None}


@blp.post("/<int(max=2147483647):cell_id>/subdivide")
@blp.arguments(SubdivideRequest)
@blp.response(201, CellSchema(many=True))
def subdivide(data, cell_id):
    """Cut a cell of a draft map into N child cells that tile it exactly (admin)."""
    user = current_user("admin")
    cell = get_cell_in_scope(db.session, user, cell_id)
    with transaction():
        return subdivide_cell(db.session, cell, data["parts"], names=data.get("names"), actor=user)
