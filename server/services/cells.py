"""Grid cells as a user sees them: lists, point lookup and a map's cells, all through scope."""

from sqlalchemy import select

from server.models import GridCell, GridMap
from server.services.lookup import active_maps, locate
from server.services.paging import page
from server.services.scope import get_map_in_scope, scoped_cells


def list_cells(session, actor, *, map_id=None, level=None, parent_id=None, limit, offset=0, cursor=None):
    """Return a page of the cells in the actor's scope, in path order, filtered."""
    query = scoped_cells(actor).order_by(GridCell.path)
    for column, value in ((GridCell.map_id, map_id), (GridCell.level, level),
                          (GridCell.parent_id, parent_id)):
        if value is not None:
            query = query.where(column == value)
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def lookup_cell(session, actor, lon, lat, *, map_id=None):
    """Return the lowest cell covering a WGS84 point on an active map (or on map_id).

    None when the point lies in no cell or in a cell outside the actor's scope: a lookup
    never tells what lies beyond the scope.
    """
    grid_map = get_map_in_scope(session, actor, map_id) if map_id is not None else None
    if grid_map is None and not active_maps(session):
        return None
    cell_id = locate(session, lon, lat, grid_map=grid_map)
    if cell_id is None:
        return None
    return session.scalar(scoped_cells(actor).where(GridCell.id == cell_id))


def map_cells(session, actor, map_id):
    """Return the cells of one map in the actor's scope, in path order."""
    grid_map = get_map_in_scope(session, actor, map_id)
    return session.scalars(scoped_cells(actor).where(GridCell.map_id == grid_map.id)
                           .order_by(GridCell.path)).all()


def active_map_cells(session, actor):
    """Return the cells of every active map in the actor's scope, in path order."""
    active = select(GridMap.id).where(GridMap.status == "active")
    return session.scalars(scoped_cells(actor).where(GridCell.map_id.in_(active))
                           .order_by(GridCell.path)).all()
