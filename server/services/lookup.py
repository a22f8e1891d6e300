"""Point → cell on a map: in process with a cached STRtree, or in the database."""

from geoalchemy2.shape import to_shape
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from grid_maps import CellIndex, cached_index
from server.models import GridCell, GridMap


def leaf_cells_query(map_id):
    """Select the lowest cells of a map: those without children."""
    child = aliased(GridCell)
    return select(GridCell).where(
        GridCell.map_id == map_id,
        ~exists(select(1).where(child.parent_id == GridCell.id)),
    )


def cell_index(session, grid_map):
    """Return the STRtree index of a map's leaf cells; cached once the map is immutable."""

    def build():
        rows = session.scalars(leaf_cells_query(grid_map.id)).all()
        return CellIndex([(c.id, c.code, to_shape(c.geom)) for c in rows])

    if grid_map.status == "draft":
        return build()
    # Key on the activation time too: ids can be reused after a rollback (SQLite, tests).
    return cached_index(("map", grid_map.id, grid_map.activated_at), build)


def active_maps(session):
    """Return the active maps, one per jurisdiction."""
    return session.scalars(select(GridMap).where(GridMap.status == "active").order_by(GridMap.id)).all()


def locate(session, lon, lat, *, grid_map=None):
    """Return the id of the leaf cell covering the point (smallest code on a border), or None."""
    maps = [grid_map] if grid_map is not None else active_maps(session)
    for candidate in maps:
        cell_id = cell_index(session, candidate).lookup(lon, lat)
        if cell_id is not None:
            return cell_id
    return None


def locate_many(session, grid_map, lons, lats):
    """Return leaf cell ids (or None) for many points, vectorised."""
    return cell_index(session, grid_map).lookup_many(lons, lats)


def locate_in_database(session, grid_map, lon, lat):
    """Answer the same question with ST_Covers in PostGIS or SpatiaLite."""
    # Byte order, as in Python: a PostgreSQL locale collation could rank codes differently.
    order = GridCell.code.collate("C") if session.get_bind().dialect.name == "postgresql" \
        else GridCell.code
    point = func.ST_GeomFromText(f"POINT({float(lon):.12f} {float(lat):.12f})", 4326)
    query = (
        leaf_cells_query(grid_map.id)
        .with_only_columns(GridCell.id)
        .where(func.ST_Covers(GridCell.geom, point))
        .order_by(order)
        .limit(1)
    )
    return session.scalar(query)

