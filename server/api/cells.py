"""Grid cells: browse your scope, look up the cell of a point, subdivide a draft cell."""

from flask_smorest import Blueprint
from sqlalchemy import select

from server.auth import current_user
from server.db import transaction
from server.extensions import db
from server.models import GridCell
from server.schemas.grid import (
    CellQuery,
    CellSchema,
    CellWithGeometry,
    LookupQuery,
    LookupResult,
    SubdivideRequest,
)
from server.services.grid import subdivide_cell
from server.services.lookup import active_maps, locate
from server.services.scope import cell_scope_clause, get_cell_in_scope, get_map_in_scope

blp = Blueprint("cells", __name__, description="Grid cells (网格) in your scope")


@blp.get("/")
@blp.arguments(CellQuery, location="query")
@blp.response(200, CellSchema(many=True))
def list_cells(args):
    """List cells in your scope, filtered by map, level or parent.

    Geometry: GET /cells/{id} for one, /maps/{id}/cells.geojson for many.
    """
    query = select(GridCell).where(cell_scope_clause(current_user())).order_by(GridCell.path)
    for name in ("map_id", "level", "parent_id"):
        if name in args:
            query = query.where(getattr(GridCell, name) == args[name])
    return db.session.scalars(query.limit(args["limit"]).offset(args["offset"])).all()


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
    user = current_user()
    grid_map = None
    if "map_id" in args:
        grid_map = get_map_in_scope(db.session, user, args["map_id"])
    elif not active_maps(db.session):
        return {"cell": None, "map_id": None}
    cell_id = locate(db.session, args["lon"], args["lat"], grid_map=grid_map)
    cell = None
    if cell_id is not None:
        cell = db.session.scalar(select(GridCell).where(GridCell.id == cell_id,
                                                        cell_scope_clause(user)))
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
