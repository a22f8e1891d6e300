"""The premises directory: create, edit with a base version, import CSV, re-derive cells."""

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import bindparam, func, insert, or_, select, text

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


REDERIVE_BATCH = 5000
IMPORT_BATCH = 1000
# "python": the cached STRtree, one bulk UPDATE per batch (on PostgreSQL one UPDATE ... FROM
# unnest of arrays), feed events held as plain rows and written by COPY at commit (100,000
# premises on the 11,433-cell province map: 5.9-6.5 s against 2.1-2.2 s without premises,
# was 10.1 s);
# "sql": one UPDATE ... FROM with ST_Covers per batch (PostgreSQL; slower, see
# bench/import_activate.py).
REDERIVE_METHOD = "python"


def rederive_cells(session, actor=None, *, batch_size=REDERIVE_BATCH, after_batch=None,
                   method=None):
    """Re-derive every premises' cell from the active maps; return (moved, orphans).

    Set-based, by id ranges of batch_size: the STRtree in Python and one bulk UPDATE per
    batch, or (method "sql", PostgreSQL) one spatial join per batch (UPDATE ... FROM with
    ST_Covers). Only premises whose
    cell changes are written, each with one change-feed event. after_batch(done, total), when
    given, runs after each batch (the command line commits there, so no batch holds its rows
    locked past it).
    """
    method = method or REDERIVE_METHOD
    if session.get_bind().dialect.name != "postgresql":
        method = "python"
    total = session.scalar(select(func.count()).select_from(Premises)) or 0
    maps = active_maps(session)
    moved = done = 0
    after_id = 0
    while True:
        ids = session.scalars(select(Premises.id).where(Premises.id > after_id)
                              .order_by(Premises.id).limit(batch_size)).all()
        if not ids:
            break
        low, high = after_id, ids[-1]
        changed = (_rederive_batch_sql(session, low, high) if method == "sql"
                   else _rederive_batch_python(session, maps, low, high))
        feed.emit_many(session, [(premises_id, new, old) for premises_id, old, new in changed])
        _expire_cells(session, {premises_id for premises_id, _, _ in changed})
        if changed:
            audit.record(session, actor, "premises.rederive_cells", "premises", "*",
                         details={"moved": len(changed), "ids": [low + 1, high]})
        moved += len(changed)
        done += len(ids)
        after_id = high
        if after_batch is not None:
            after_batch(done, total)
    orphans = session.scalar(select(func.count()).select_from(Premises)
                             .where(Premises.cell_id.is_(None))) or 0
    return moved, orphans


def _expire_cells(session, premises_ids):
    """Loaded premises show the cell the bulk UPDATE wrote (complaints follow them next)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Premises) and obj.id in premises_ids:
            session.expire(obj, ["cell_id", "cell"])


def _rederive_batch_python(session, maps, low, high):
    """Locate the batch's points with the cached STRtree; write the changed ones in one go."""
    rows = session.execute(select(Premises.id, Premises.cell_id, func.ST_X(Premises.location),
                                  func.ST_Y(Premises.location))
                           .where(Premises.id > low, Premises.id <= high)).all()
    lons, lats = [row[2] for row in rows], [row[3] for row in rows]
    found = [None] * len(rows)
    for grid_map in maps:
        for index, cell_id in enumerate(locate_many(session, grid_map, lons, lats)):
            if found[index] is None and cell_id is not None:
                found[index] = cell_id
    changed = [(premises_id, old, new) for (premises_id, old, _, _), new in zip(rows, found)
               if old != new]
    if changed and session.get_bind().dialect.name == "postgresql":
        # One statement for the batch: the changes as arrays, joined by id.
        session.execute(_UPDATE_FROM_ARRAYS, {"ids": [c[0] for c in changed],
                                              "olds": [c[1] for c in changed],
                                              "news": [c[2] for c in changed]})
    elif changed:
        table = Premises.__table__
        # Conditional on the cell read: a premises moved meanwhile (by locate, on the
        # active maps) already has its right cell.
        session.execute(table.update().where(
            table.c.id == bindparam("premises_id"),
            table.c.cell_id.is_not_distinct_from(bindparam("old"))).values(
            cell_id=bindparam("new")),
            [{"premises_id": i, "old": old, "new": new} for i, old, new in changed])
    return changed


_UPDATE_FROM_ARRAYS = text("""
UPDATE premises SET cell_id = v.new_cell_id
FROM unnest(CAST(:ids AS integer[]), CAST(:olds AS integer[]), CAST(:news AS integer[]))
  AS v(id, old_cell_id, new_cell_id)
WHERE premises.id = v.id AND premises.cell_id IS NOT DISTINCT FROM v.old_cell_id
""")


_REDERIVE_SQL = text("""
WITH batch AS (
  SELECT p.id, p.cell_id AS old_cell_id,
    (SELECT c.id FROM grid_cells c JOIN grid_maps m ON m.id = c.map_id
      WHERE m.status = 'active' AND ST_Covers(c.geom, p.location)
        AND NOT EXISTS (SELECT 1 FROM grid_cells k WHERE k.parent_id = c.id)
      ORDER BY m.id, c.code COLLATE "C" LIMIT 1) AS new_cell_id
  FROM premises p WHERE p.id > :low AND p.id <= :high
)
UPDATE premises SET cell_id = batch.new_cell_id FROM batch
WHERE premises.id = batch.id AND premises.cell_id IS NOT DISTINCT FROM batch.old_cell_id
  AND batch.new_cell_id IS DISTINCT FROM batch.old_cell_id
RETURNING premises.id, batch.old_cell_id, batch.new_cell_id
""")


def _rederive_batch_sql(session, low, high):
    """One spatial join: the leaf cell of the first active map covering each point, smallest
    code on a border (as the STRtree lookup), written where it changes."""
    session.flush()
    rows = session.execute(_REDERIVE_SQL, {"low": low, "high": high}).all()
    return sorted((row[0], row[1], row[2]) for row in rows)


def import_premises_csv(session, actor, data, *, coordinates="wgs84", partial=False,
                        progress=None):
    """Import a CSV: create new premises, update known ones (by licence or credit code).

    Every bad row is reported with its line; with any bad row nothing is stored unless
    `partial`, which imports the good rows. Returns a summary dict. actor None is the
    command line, acting for the office with full rights. Rows are checked and written in
    batches (existing identifiers looked up per batch, new premises inserted in bulk);
    progress(done, total, phase), when given, is called after each batch: each good row is
    one step "checked", then one step "written" (total is twice the good rows).
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
    total = len(good) * 2  # checked, then written
    cells = locate_rows(session, good)
    plans = []
    whole_grid = actor is None or covers_whole_grid(session, actor)
    restricted = actor is not None and not actor.is_admin
    for start in range(0, len(good), IMPORT_BATCH):
        batch = list(zip(good[start:start + IMPORT_BATCH], cells[start:start + IMPORT_BATCH]))
        existing = _existing_by_identifiers(session, [row for row, _ in batch])
        in_scope = _cells_in_scope(session, actor, {cell for _, cell in batch} | {
            match["cell_id"] for match in existing.values()}) if restricted else None
        for row, cell_id in batch:
            problem = _plan_row(row, cell_id, existing, plans, in_scope=in_scope,
                                whole_grid=whole_grid)
            if problem:
                errors.append(problem)
        if progress is not None:
            progress(start + len(batch), total, "checked")
    if errors and not partial:
        raise ValidationFailed(f"{len({e['line'] for e in errors})} row(s) have errors; nothing was "
                               "imported (import with partial to take the good rows).",
                               code="csv_invalid", details={"encoding": parsed.encoding,
                                                            "errors": errors})
    summary = {"encoding": parsed.encoding, "created": 0, "updated": 0, "unchanged": 0,
               "orphans": 0, "errors": errors}
    for start in range(0, len(plans), IMPORT_BATCH):
        batch = plans[start:start + IMPORT_BATCH]
        _apply_batch(session, actor, batch, summary)
        if progress is not None:
            progress(len(good) + start + len(batch), total, "written")
    session.flush()
    return summary


def locate_rows(session, rows):
    """Return the active cell id (or None) of each row's location."""
    found = [None] * len(rows)
    for grid_map in active_maps(session):
        ids = locate_many(session, grid_map, [r.lon for r in rows], [r.lat for r in rows])
        found = [old if old is not None else new for old, new in zip(found, ids)]
    return found


_STATE_COLUMNS = ("id", *FIELDS, "cell_id", "version", "location")


def _existing_by_identifiers(session, rows):
    """Return {("licence_no"|"credit_code", value): stored state} for the rows' identifiers."""
    licences = sorted({r.licence_no for r in rows if r.licence_no})
    credits = sorted({r.credit_code for r in rows if r.credit_code})
    clauses = ([Premises.licence_no.in_(licences)] if licences else []) + (
        [Premises.credit_code.in_(credits)] if credits else [])
    if not clauses:
        return {}
    found = {}
    columns = [getattr(Premises, name) for name in _STATE_COLUMNS]
    for row in session.execute(select(*columns).where(or_(*clauses)).order_by(Premises.id)):
        state = dict(zip(_STATE_COLUMNS, row))
        point = to_shape(state.pop("location"))
        state.update(lon=point.x, lat=point.y)
        for key in ("licence_no", "credit_code"):
            if state[key]:
                found[(key, state[key])] = state
    return found


def _cells_in_scope(session, actor, cell_ids):
    """Return which of the cell ids are in the actor's scope."""
    wanted = sorted(cell for cell in cell_ids if cell is not None)
    in_scope = set()
    for start in range(0, len(wanted), IMPORT_BATCH):
        in_scope.update(session.scalars(select(GridCell.id).where(
            GridCell.id.in_(wanted[start:start + IMPORT_BATCH]), cell_scope_clause(actor))))
    return in_scope


def _plan_row(row, cell_id, existing, plans, *, in_scope, whole_grid):
    matches = sorted({m["id"]: m for m in (
        existing.get(("licence_no", row.licence_no)) if row.licence_no else None,
        existing.get(("credit_code", row.credit_code)) if row.credit_code else None)
        if m is not None}.values(), key=lambda m: m["id"])

    def visible(cell):
        return whole_grid if cell is None else cell in in_scope

    if in_scope is not None and (cell_id not in in_scope or not all(
            visible(match["cell_id"]) for match in matches)):
        # The same answer whether the premises exists or not, naming none: a row may not
        # take a premises (an orphan included) from outside the importer's scope.
        return _row_error(row, "out_of_scope", "the premises lies outside your cells")
    if len(matches) > 1:
        return _row_error(row, "identifiers_split", "the licence number and the credit code "
                          f"belong to two different premises ({matches[0]['id']}, {matches[1]['id']})")
    existing_state = matches[0] if matches else None
    plans.append(("update" if existing_state else "create", row, cell_id, existing_state))
    return None


def _row_error(row, code, message):
    return {"line": row.line, "column": None, "code": code, "message": message,
            "message_zh": "该行无法导入"}


ROW_FIELDS = ("name", "ownership", "licence_no", "credit_code", "address", "risk_level",
              "credit_grade", "list_status", "contact_name", "contact_phone")


def _row_values(row):
    values = {name: getattr(row, name) for name in ROW_FIELDS}
    values["category_code"] = row.category
    return values


def _insert_many(session, rows):
    """Insert premises rows; return their ids in order. PostgreSQL: COPY with ids taken from
    the sequence first (a bulk INSERT's parameters cost more to send than the rows)."""
    if session.get_bind().dialect.name != "postgresql":
        return session.scalars(insert(Premises).returning(Premises.id,
                                                          sort_by_parameter_order=True),
                               rows).all()
    ids = sorted(session.scalars(text(
        "SELECT nextval(pg_get_serial_sequence('premises', 'id')) FROM generate_series(1, :n)"),
        {"n": len(rows)}))
    columns = [name for name in rows[0] if name != "location"]
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY premises (id, location, {', '.join(columns)}) "
                             "FROM STDIN") as copy:
        for premises_id, row in zip(ids, rows):
            point = to_shape(row["location"])
            copy.write_row((premises_id, f"SRID=4326;POINT({point.x!r} {point.y!r})",
                            *(row[name] for name in columns)))
    return ids


def _apply_batch(session, actor, plans, summary):
    """Insert the batch's new premises in bulk, update the changed ones in bulk; audit and
    feed each."""
    now = utcnow()
    creates = [(row, cell_id) for kind, row, cell_id, _ in plans if kind == "create"]
    if creates:
        rows = [{**_row_values(row), "active": True, "version": 1, "cell_id": cell_id,
                 "location": from_shape(Point(row.lon, row.lat), srid=4326),
                 "created_at": now, "updated_at": now} for row, cell_id in creates]
        ids = _insert_many(session, rows)
        for premises_id, (row, cell_id) in zip(ids, creates):
            after = {**{name: _row_values(row).get(name) for name in FIELDS}, "active": True,
                     "lon": row.lon, "lat": row.lat, "cell_id": cell_id, "version": 1}
            feed.emit(session, "premises", premises_id, cell_id=cell_id)
            audit.record(session, actor, "premises.import", "premises", premises_id,
                         after=after)
            summary["orphans"] += cell_id is None
        summary["created"] += len(creates)
    changes = []
    for kind, row, cell_id, before in plans:
        if kind != "update":
            continue
        values = _row_values(row)
        summary["orphans"] += cell_id is None
        if all(before[k] == v for k, v in values.items()) and \
                (before["lon"], before["lat"]) == (row.lon, row.lat):
            summary["unchanged"] += 1
            continue
        after = {**before, **values, "lon": row.lon, "lat": row.lat, "cell_id": cell_id,
                 "version": before["version"] + 1}
        after.pop("id")
        changes.append((before, after))
    if changes:
        table = Premises.__table__
        # Conditional on the version read: an edit that landed meanwhile is not overwritten.
        result = session.execute(table.update().where(
            table.c.id == bindparam("premises_id"), table.c.version == bindparam("base")).values(
            **{name: bindparam(f"v_{name}") for name in ROW_FIELDS},
            category_code=bindparam("v_category_code"), location=bindparam("v_location"),
            cell_id=bindparam("v_cell_id"), version=bindparam("v_version"),
            updated_at=bindparam("v_updated_at")), [
            {"premises_id": before["id"], "base": before["version"],
             **{f"v_{name}": after[name] for name in (*ROW_FIELDS, "category_code", "cell_id",
                                                       "version")},
             "v_location": from_shape(Point(after["lon"], after["lat"]), srid=4326),
             "v_updated_at": now} for before, after in changes])
        if session.get_bind().dialect.supports_sane_multi_rowcount and \
                result.rowcount != len(changes):
            raise Conflict("A premises in the file was changed while it was imported; "
                           "import again.", code="stale_version")
        for before, after in changes:
            state_before = {k: v for k, v in before.items() if k != "id"}
            feed.emit(session, "premises", before["id"], cell_id=after["cell_id"],
                      old_cell_id=before["cell_id"])
            audit.record(session, actor, "premises.import", "premises", before["id"],
                         before=state_before, after=after)
        summary["updated"] += len(changes)
        session.expire_all()  # objects loaded before now show the stored rows
