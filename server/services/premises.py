"""The premises directory: create, edit with a base version, import CSV, re-derive cells."""

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import or_, select

from server.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from server.importers import PremisesFileError, parse_premises_csv
from server.models import GridCell, Premises, PremisesCategory
from server.models._types import utcnow
from server.services import audit
from server.services import changes as feed
from server.services.lookup import active_maps, locate, locate_many
from server.services.scope import (
    cell_scope_clause,
    covers_whole_grid,
    require_role,
    require_whole_grid,
)

FIELDS = ("name", "category_code", "ownership", "licence_no", "credit_code", "address",
          "risk_level", "credit_grade", "list_status", "contact_name", "contact_phone", "active")
# What a coordinator or officer may correct in the field; the rest is the office's.
FIELD_EDITABLE = ("contact_name", "contact_phone", "address")


def premises_state(premises):
    """Return the audited state of a premises as plain data."""
    point = to_shape(premises.location)
    return {**{name: getattr(premises, name) for name in FIELDS}, "lon": point.x,
            "lat": point.y, "cell_id": premises.cell_id, "version": premises.version}


def category_spellings(session):
    """Map every accepted spelling of a category (code, Chinese, English) to its code."""
    spellings = {}
    for category in session.scalars(select(PremisesCategory).where(PremisesCategory.active)):
        for name in (category.code, category.label_zh, category.label_en):
            spellings[name] = category.code
            spellings[name.lower()] = category.code
    return spellings


def premises_query(actor):
    """Select the premises in the actor's scope (admins: all, orphans included)."""
    query = select(Premises).order_by(Premises.id)
    if actor.is_admin:
        return query
    return query.join(GridCell, GridCell.id == Premises.cell_id).where(cell_scope_clause(actor))


def orphans_query(session, actor):
    """Select premises whose location falls in no cell of an active map (whole grid only)."""
    require_role(actor, "supervisor")
    require_whole_grid(session, actor)
    return select(Premises).where(Premises.cell_id.is_(None)).order_by(Premises.id)


def _cell_in_scope(session, actor, cell_id):
    return cell_id is not None and session.scalar(select(GridCell.id).where(
        GridCell.id == cell_id, cell_scope_clause(actor))) is not None


def _premises_in_scope(session, actor, premises, *, whole_grid=None):
    """Return whether the actor may see this premises; orphans: only the whole grid's users."""
    if actor is None or actor.is_admin:
        return True
    if premises.cell_id is None:
        return covers_whole_grid(session, actor) if whole_grid is None else whole_grid
    return _cell_in_scope(session, actor, premises.cell_id)


def get_premises(session, actor, premises_id):
    """Return a premises in scope, or raise NotFound."""
    premises = session.scalar(premises_query(actor).where(Premises.id == premises_id))
    if premises is None:
        raise NotFound(f"Premises {premises_id} not found.")
    return premises


def _check_category(session, code):
    category = session.get(PremisesCategory, code)
    if category is None or not category.active:
        raise ValidationFailed(f"Unknown premises category {code!r}.",
                               details={"category_code": ["unknown category"]})


def _check_identifiers_free(session, actor, licence_no, credit_code, exclude_id=None):
    clauses = []
    if licence_no:
        clauses.append(Premises.licence_no == licence_no)
    if credit_code:
        clauses.append(Premises.credit_code == credit_code)
    if not clauses:
        raise ValidationFailed("Give a licence number or a unified social credit code.",
                               details={"licence_no": ["licence_no or credit_code required"]})
    query = select(Premises).where(or_(*clauses)).order_by(Premises.id)
    if exclude_id is not None:
        query = query.where(Premises.id != exclude_id)
    taken = session.scalars(query.limit(1)).first()
    if taken is None:
        return
    if _premises_in_scope(session, actor, taken):
        raise Conflict("Another premises has that licence number or credit code.",
                       code="identifier_taken", details={"premises_id": taken.id})
    # Outside the caller's scope: that it exists is all a 409 may say.
    raise Conflict("A premises outside your cells has that licence number or credit code.",
                   code="identifier_taken")


def create_premises(session, actor, data):
    """Add a premises; its cell comes from its location. Supervisors add only in scope."""
    require_role(actor, "supervisor")
    _check_category(session, data["category_code"])
    _check_identifiers_free(session, actor, data.get("licence_no"), data.get("credit_code"))
    cell_id = locate(session, data["lon"], data["lat"])
    _require_cell_in_scope(session, actor, cell_id)
    premises = Premises(**{name: data.get(name) for name in FIELDS if name in data},
                        location=from_shape(Point(data["lon"], data["lat"]), srid=4326),
                        cell_id=cell_id, version=1)
    session.add(premises)
    session.flush()
    feed.emit(session, "premises", premises.id, cell_id=premises.cell_id)
    audit.record(session, actor, "premises.create", "premises", premises.id,
                 after=premises_state(premises))
    return premises


def _require_cell_in_scope(session, actor, cell_id):
    if not actor.is_admin and not _cell_in_scope(session, actor, cell_id):
        raise Forbidden("That location is outside your cells.", code="location_out_of_scope")


def update_premises(session, actor, premises_id, changes, *, base_version, device_id=None):
    """Apply changes made against `base_version`; a stale base is a conflict, never a merge."""
    premises = get_premises(session, actor, premises_id)
    if base_version != premises.version:
        raise Conflict(f"Premises {premises_id} changed since version {base_version}.",
                       code="stale_version", details={"current": premises_state(premises)})
    allowed = FIELDS + ("lon", "lat") if actor.role in ("admin", "supervisor") else FIELD_EDITABLE
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise Forbidden(f"Your role may not change: {', '.join(refused)}.", code="field_not_editable",
                        details={"fields": refused})
    before = premises_state(premises)
    if "category_code" in changes:
        _check_category(session, changes["category_code"])
    if {"licence_no", "credit_code"} & set(changes):
        _check_identifiers_free(session, actor, changes.get("licence_no", premises.licence_no),
                                changes.get("credit_code", premises.credit_code), premises.id)
    for name, value in changes.items():
        if name not in ("lon", "lat"):
            setattr(premises, name, value)
    if "lon" in changes or "lat" in changes:
        lon, lat = changes.get("lon", before["lon"]), changes.get("lat", before["lat"])
        premises.location = from_shape(Point(lon, lat), srid=4326)
        premises.cell_id = locate(session, lon, lat)
        _require_cell_in_scope(session, actor, premises.cell_id)
    premises.version += 1
    premises.updated_at = utcnow()
    session.flush()
    feed.emit(session, "premises", premises.id, cell_id=premises.cell_id,
                 old_cell_id=before["cell_id"])
    audit.record(session, actor, "premises.update", "premises", premises.id, before=before,
                 after=premises_state(premises), device_id=device_id)
    return premises


def rederive_cells(session, actor=None):
    """Re-derive every premises' cell from the active maps; return (moved, orphans)."""
    rows = session.execute(select(Premises.id, Premises.cell_id, Premises.location)).all()
    if not rows:
        return 0, 0
    points = [to_shape(location) for _, _, location in rows]
    lons, lats = [p.x for p in points], [p.y for p in points]
    found = [None] * len(rows)
    for grid_map in active_maps(session):
        for index, cell_id in enumerate(locate_many(session, grid_map, lons, lats)):
            if found[index] is None and cell_id is not None:
                found[index] = cell_id
    moved = 0
    for (premises_id, old, _), new in zip(rows, found):
        if old != new:
            session.get(Premises, premises_id).cell_id = new
            feed.emit(session, "premises", premises_id, cell_id=new, old_cell_id=old)
            moved += 1
    session.flush()
    if moved:
        audit.record(session, actor, "premises.rederive_cells", "premises", "*",
                     details={"moved": moved})
    return moved, sum(1 for cell in found if cell is None)


def import_premises_csv(session, actor, data, *, coordinates="wgs84", partial=False):
    """Import a CSV: create new premises, update known ones (by licence or credit code).

    Every bad row is reported with its line; with any bad row nothing is stored unless
    `partial`, which imports the good rows. Returns a summary dict. actor None is the
    command line, acting for the office with full rights.
    """
    if actor is not None:
        require_role(actor, "supervisor")
    try:
        parsed = parse_premises_csv(data, categories=category_spellings(session),
                                    coordinates=coordinates)
    except PremisesFileError as error:
        raise AppError(error.message, code=error.code, status=422, details=error.details) from error
    errors = [e.to_dict() for e in parsed.errors]
    bad_lines = {e.line for e in parsed.errors}
    good = [row for row in parsed.rows if row.line not in bad_lines]
    cells = locate_rows(session, good)
    plans = []
    whole_grid = actor is None or covers_whole_grid(session, actor)
    for row, cell_id in zip(good, cells):
        problem = _plan_row(session, actor, row, cell_id, plans, whole_grid=whole_grid)
        if problem:
            errors.append(problem)
    if errors and not partial:
        raise ValidationFailed(f"{len({e['line'] for e in errors})} row(s) have errors; nothing was "
                               "imported (import with partial to take the good rows).",
                               code="csv_invalid", details={"encoding": parsed.encoding,
                                                            "errors": errors})
    summary = {"encoding": parsed.encoding, "created": 0, "updated": 0, "unchanged": 0,
               "orphans": 0, "errors": errors}
    for kind, row, cell_id, premises in plans:
        summary[_apply_row(session, actor, kind, row, cell_id, premises)] += 1
        summary["orphans"] += cell_id is None
    return summary


def locate_rows(session, rows):
    """Return the active cell id (or None) of each row's location."""
    found = [None] * len(rows)
    for grid_map in active_maps(session):
        ids = locate_many(session, grid_map, [r.lon for r in rows], [r.lat for r in rows])
        found = [old if old is not None else new for old, new in zip(found, ids)]
    return found


def _plan_row(session, actor, row, cell_id, plans, *, whole_grid):
    matches = session.scalars(select(Premises).where(or_(
        *([Premises.licence_no == row.licence_no] if row.licence_no else []),
        *([Premises.credit_code == row.credit_code] if row.credit_code else [])))
        .order_by(Premises.id)).all()
    if actor is not None and not actor.is_admin and (
            not _cell_in_scope(session, actor, cell_id) or not all(
                _premises_in_scope(session, actor, match, whole_grid=whole_grid)
                for match in matches)):
        # The same answer whether the premises exists or not, naming none: a row may not
        # take a premises (an orphan included) from outside the importer's scope.
        return _row_error(row, "out_of_scope", "the premises lies outside your cells")
    if len(matches) > 1:
        return _row_error(row, "identifiers_split", "the licence number and the credit code "
                          f"belong to two different premises ({matches[0].id}, {matches[1].id})")
    existing = matches[0] if matches else None
    plans.append(("update" if existing else "create", row, cell_id, existing))
    return None


def _row_error(row, code, message):
    return {"line": row.line, "column": None, "code": code, "message": message,
            "message_zh": "该行无法导入"}


ROW_FIELDS = ("name", "ownership", "licence_no", "credit_code", "address", "risk_level",
              "credit_grade", "list_status", "contact_name", "contact_phone")


def _apply_row(session, actor, kind, row, cell_id, premises):
    values = {name: getattr(row, name) for name in ROW_FIELDS}
    values["category_code"] = row.category
    if kind == "create":
        premises = Premises(**values, location=from_shape(Point(row.lon, row.lat), srid=4326),
                            cell_id=cell_id, version=1)
        session.add(premises)
        session.flush()
        feed.emit(session, "premises", premises.id, cell_id=cell_id)
        audit.record(session, actor, "premises.import", "premises", premises.id,
                     after=premises_state(premises))
        return "created"
    before = premises_state(premises)
    point = to_shape(premises.location)
    if all(before[k] == v for k, v in values.items()) and (point.x, point.y) == (row.lon, row.lat):
        return "unchanged"
    for name, value in values.items():
        setattr(premises, name, value)
    premises.location = from_shape(Point(row.lon, row.lat), srid=4326)
    premises.cell_id = cell_id
    premises.version += 1
    premises.updated_at = utcnow()
    session.flush()
    feed.emit(session, "premises", premises.id, cell_id=cell_id, old_cell_id=before["cell_id"])
    audit.record(session, actor, "premises.import", "premises", premises.id, before=before,
                 after=premises_state(premises))
    return "updated"

