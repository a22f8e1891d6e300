"""Test data built through the services; everything is flushed, never committed."""

import itertools
import json
from types import SimpleNamespace

from shapely.geometry import box, mapping

from server.models import GridCell
from server.services import grid as grid_service
from server.services.assignments import create_assignment
from server.services.auth import issue_token
from server.services.users import create_user

PASSWORD = "correct-horse-1"
_numbers = itertools.count(1)


def make_user(session, role="coordinator", username=None, password=PASSWORD):
    return create_user(session, username=username or f"{role}{next(_numbers)}", role=role,
                       password=password)


def auth_headers(session, user, ttl_hours=12):
    token, _ = issue_token(session, user, ttl_hours=ttl_hours)
    return {"Authorization": f"Bearer {token}"}


def feature_collection(cells, code_property="code", name_property="name", extra=None):
    """cells: iterable of (code, name, shapely geometry or GeoJSON dict)."""
    features = []
    for code, name, geometry in cells:
        properties = {code_property: code, name_property: name, **(extra or {})}
        if hasattr(geometry, "geom_type"):
            geometry = mapping(geometry)
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def as_bytes(document):
    return json.dumps(document).encode()


# Two districts side by side, 0.1° squares near Wuhai.
DISTRICTS = [("D1", "甲区", box(106.0, 39.0, 106.1, 39.1)),
             ("D2", "乙区", box(106.1, 39.0, 106.2, 39.1))]


def make_grid(session, *, activate=True, jurisdiction="T1"):
    """An active map: 2 districts → 2 streets each → 2 communities each (14 cells)."""
    grid_map = grid_service.create_map(session, jurisdiction_code=jurisdiction, name="测试网格")
    grid_service.import_level(session, grid_map, as_bytes(feature_collection(DISTRICTS)),
                              level="district")
    for district in _cells(session, grid_map, "district"):
        for street in grid_service.subdivide_cell(session, district, 2):
            grid_service.subdivide_cell(session, street, 2)
    if activate:
        grid_service.activate_map(session, grid_map)
    cells = {c.code: c for c in session.query(GridCell).filter_by(map_id=grid_map.id)}
    return SimpleNamespace(map=grid_map, cells=cells)


def _cells(session, grid_map, level):
    return session.query(GridCell).filter_by(map_id=grid_map.id, level=level).order_by(GridCell.code).all()


def assign(session, actor, user, cell, **kwargs):
    return create_assignment(session, actor, user_id=user.id, cell_id=cell.id, **kwargs)
