"""Test data built through the services; everything is flushed, never committed."""

import itertools
import json
from dataclasses import dataclass
from types import SimpleNamespace

from shapely.geometry import box, mapping

from server.models import GridCell, Premises, User
from server.services import grid as grid_service
from server.services.assignments import create_assignment
from server.services.credentials import issue_token
from server.services.users import create_user

PASSWORD = "correct-horse-1"
_numbers = itertools.count(1)


def make_user(session, role="coordinator", username=None, password=PASSWORD):
    return create_user(session, username=username or f"{role}{next(_numbers)}", role=role,
                       password=password)


def auth_headers(session, user, ttl_hours=12):
    token, _ = issue_token(session, user, ttl_hours=ttl_hours)
    return {"Authorization": f"Bearer {token}"}


def upload_chunk(client, headers, sha, offset, data, complete=False, environ=None):
    """PATCH one chunk of a resumable photo upload (Upload-Complete on the last)."""
    extra = {"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"}
    if complete:
        extra["Upload-Complete"] = "?1"
    return client.patch(f"/api/v1/photos/{sha}/upload", data=data, headers={**headers, **extra},
                        environ_overrides=environ or {})


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


def load_checklists(session):
    from server.services.checklists import load_templates

    load_templates(session)


def template_for(session, category="clinic"):
    from server.services.checklists import current_templates

    return current_templates(session, category)[0]


def make_premises(session, actor, cell, *, category="clinic", name=None, **extra):
    from geoalchemy2.shape import to_shape

    from server.services.premises import create_premises

    point = to_shape(cell.geom).representative_point()
    number = next(_numbers)
    data = {"name": name or f"测试诊所{number}", "category_code": category, "ownership": "private",
            "licence_no": f"PDY{number:08d}", "address": "乌海市测试路1号",
            "lon": point.x, "lat": point.y, **extra}
    return create_premises(session, actor, data)


def inspection_data(session, premises, *, kind="patrol", inspector_ids=None, photos=(),
                    client_uuid=None, gps=True, device_time=None, **extra):
    import uuid

    from geoalchemy2.shape import to_shape

    from server.models._types import utcnow
    from server.services.checklists import applicable_items

    template = template_for(session, premises.category_code)
    point = to_shape(premises.location)
    items = [{"item_code": item.code, "result": "compliant", "note": "", "photos": []}
             for item in applicable_items(template, premises.category_code)]
    data = {"client_uuid": client_uuid or str(uuid.uuid4()), "kind": kind, "task_id": None,
            "premises_id": premises.id, "template_id": template.id,
            "device_time": device_time or utcnow(),
            "gps": {"lon": point.x, "lat": point.y, "accuracy_m": 8.0} if gps else None,
            "items": items, "photos": list(photos), "findings": "", "conclusion": "compliant",
            **extra}
    if inspector_ids is not None:
        data["inspector_ids"] = inspector_ids
    return data


def make_inspection(session, actor, premises, **kwargs):
    from server.services.inspections import submit_inspection

    inspection, _ = submit_inspection(session, actor, inspection_data(session, premises, **kwargs))
    return inspection


def jpeg_bytes(seed=0, size=(64, 48), exif=None):
    import io

    from PIL import Image

    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, 128))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **({"exif": exif} if exif is not None else {}))
    return buffer.getvalue()


def make_wuhai_map(session, *, streets_per_district=0):
    """The three real Wuhai districts as an active map, optionally cut into streets."""
    from tests.conftest import BOUNDARIES

    grid_map = grid_service.create_map(session, jurisdiction_code="150300", name="乌海")
    grid_service.import_level(session, grid_map,
                              (BOUNDARIES / "wuhai-districts.geojson").read_bytes(),
                              level="district", code_property="gb")
    if streets_per_district:
        for district in grid_map.cells.all():
            grid_service.subdivide_cell(session, district, streets_per_district)
    grid_service.activate_map(session, grid_map)
    return grid_map


# The shared world: one office most integration tests start from (the `world` fixture).
CLINIC_CELL = "D1001001"   # wang's community cell, in district D1
FOREIGN_CELL = "D2001001"  # zhao's community cell, in the other district D2


@dataclass
class World:
    """Who works where, and a clinic on each side of a coordinator's scope."""

    grid: SimpleNamespace     # make_grid: the active 14-cell map (.map, .cells by code)
    admin: User               # "root"
    wang: User                # coordinator of CLINIC_CELL
    zhao: User                # coordinator of FOREIGN_CELL
    chief: User               # "liu", supervisor of district D1 (covers CLINIC_CELL)
    other_chief: User         # "zhou", supervisor of district D2 (covers FOREIGN_CELL)
    assignments: dict         # member name ("wang", "chief", ...) -> their CellAssignment
    clinic: Premises          # in CLINIC_CELL
    foreign_clinic: Premises  # in FOREIGN_CELL


def make_world(session):
    """Build the shared world on any session (flushed, never committed); checklists loaded."""
    grid = make_grid(session)
    admin = make_user(session, "admin", "root")
    staff = {"wang": ("coordinator", "wang", CLINIC_CELL),
             "zhao": ("coordinator", "zhao", FOREIGN_CELL),
             "chief": ("supervisor", "liu", "D1"),
             "other_chief": ("supervisor", "zhou", "D2")}
    users = {member: make_user(session, role, username)
             for member, (role, username, _) in staff.items()}
    assignments = {member: assign(session, admin, users[member], grid.cells[code])
                   for member, (_, _, code) in staff.items()}
    load_checklists(session)
    return World(grid=grid, admin=admin, **users, assignments=assignments,
                 clinic=make_premises(session, admin, grid.cells[CLINIC_CELL]),
                 foreign_clinic=make_premises(session, admin, grid.cells[FOREIGN_CELL]))


def load_calendars(session, today=None):
    """Load the shipped working-day calendars and, where the suite runs on a date past them
    (CI runs on any date; `make test-clock` on 2028-02-29), a weekends-only stand-in for that
    year and the next, marked provisional. Tests of the calendar itself freeze the clock."""
    from datetime import date as _date

    from server.models import WorkingCalendar
    from server.services.followups.calendars import (
        load_calendar,
        load_shipped_calendars,
    )

    load_shipped_calendars(session)
    today = today or _date.today()
    for year in (today.year, today.year + 1):
        if session.get(WorkingCalendar, year) is None:
            load_calendar(session, None, {
                "year": year, "provisional": True, "holidays": [], "workdays": [],
                "source": "tests: weekends only, for a date past the shipped calendars"})
