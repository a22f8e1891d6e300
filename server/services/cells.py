"""Grid cells as a user sees them: lists, point lookup, a map's cells and outlines for
drawing at a zoom, all through scope."""

import hashlib

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from grid_maps.outline import cached_outlines, outlines
from server.models import GridCell, GridMap
from server.models.grid import LEVELS, map_level_labels
from server.services.lookup import active_maps, locate
from server.services.paging import page
from server.services.scope import cell_scope_clause, get_map_in_scope, scoped_cells


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


# The zoom a level is drawn for when the client names none, and from which the map page
# draws a level too large to draw at every zoom.
LEVEL_ZOOM = {"province": 5, "city": 7, "district": 8, "street": 10, "community": 12}


def _active_scope_rows(actor, *columns):
    active = select(GridMap.id).where(GridMap.status == "active")
    return (select(*columns).where(cell_scope_clause(actor), GridCell.map_id.in_(active))
            .order_by(GridCell.path))


def scope_levels(session, actor):
    """Return the levels of the actor's active cells, top first, with labels and counts."""
    counts = dict(session.execute(
        _active_scope_rows(actor, GridCell.level, func.count()).group_by(GridCell.level)
        .order_by(None)).all())
    labels = {}
    for grid_map in session.scalars(select(GridMap).where(GridMap.status == "active")
                                    .order_by(GridMap.id)):
        labels = {**map_level_labels(grid_map), **labels}
    return [{"code": level, "zh": labels.get(level, (level,))[0],
             "en": labels.get(level, (level, level))[1], "cells": counts[level],
             "zoom": LEVEL_ZOOM[level]}
            for level in LEVELS if level in counts]


def scope_outlines(session, actor, *, level, zoom):
    """Return (version tag, features) for the actor's active cells at a level, simplified for
    the zoom: features() lists (cell id, feature text, bounds) in path order.

    The outlines of a level are built once per active map version (cached in process); the
    tag changes with the scope, the map versions, the level and the zoom.
    """
    rows = session.execute(_active_scope_rows(actor, GridCell.id, GridCell.map_id)
                           .where(GridCell.level == level)).all()
    maps = {m.id: m for m in session.scalars(
        select(GridMap).where(GridMap.id.in_({map_id for _, map_id in rows})))}
    versions = ",".join(f"{m.id}@{m.activated_at.isoformat()}" for m in maps.values())
    digest = hashlib.sha256(f"{OUTLINE_FORMAT}|{level}|{zoom}|{versions}|".encode())
    digest.update(",".join(str(cell_id) for cell_id, _ in rows).encode())

    def features():
        by_map = {map_id: _map_outlines(session, grid_map, level, zoom)
                  for map_id, grid_map in maps.items()}
        return [(cell_id, *by_map[map_id][cell_id]) for cell_id, map_id in rows]

    return digest.hexdigest()[:32], features


OUTLINE_FORMAT = 1  # bump when the features' shape changes, so old ETags stop matching


def _map_outlines(session, grid_map, level, zoom):
    def build():
        labels = map_level_labels(grid_map)
        cells = session.execute(select(GridCell.id, GridCell.code, GridCell.name,
                                       GridCell.parent_id, GridCell.area_m2, GridCell.geom)
                                .where(GridCell.map_id == grid_map.id,
                                       GridCell.level == level)).all()
        return outlines([(c.id, to_shape(c.geom), {
            "id": c.id, "code": c.code, "name": c.name, "level": level,
            "level_label": labels[level][0], "parent_id": c.parent_id,
            "area_m2": round(c.area_m2, 1)}) for c in cells], zoom)

    # Active maps do not change; the activation time tells apart ids reused after a rollback.
    return cached_outlines(("outline", grid_map.id, grid_map.activated_at, level, zoom), build)
