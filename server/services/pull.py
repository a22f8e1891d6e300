"""Delta pulls: what changed in a user's scope since their cursor, with tombstones.

Cost follows the changes since the cursor (the feed is read by sequence number), plus, when
the user's scope itself changed, the cells that entered or left it.
"""

import hashlib

from sqlalchemy import func, or_, select

from server.errors import AppError
from server.models import (
    ChangeEvent,
    ChecklistTemplate,
    GridCell,
    GridMap,
    Inspection,
    Premises,
    ScopeSnapshot,
    Task,
)
from server.services.inspections import inspections_query
from server.services.premises import premises_query
from server.services.scope import cell_scope_clause
from server.services.tasks import tasks_query
from sync.protocol import collapse, decode_cursor, encode_cursor

MAX_PAGE = 1000
ALL = "all"


class CursorGone(AppError):
    status = 410
    code = "resync_required"


def scope_cells(session, user):
    """Return the ids of the active-map cells the user sees, or None for everything (admins)."""
    if user.is_admin:
        return None
    return set(session.scalars(select(GridCell.id).join(GridMap, GridMap.id == GridCell.map_id)
                               .where(GridMap.status == "active", cell_scope_clause(user))))


def scope_version(cells):
    """Name a scope by a digest of its cell ids."""
    if cells is None:
        return ALL
    return hashlib.sha256(",".join(map(str, sorted(cells))).encode()).hexdigest()[:32]


def _remember(session, user, version, cells):
    if cells is None or session.scalar(select(ScopeSnapshot.id).where(
            ScopeSnapshot.user_id == user.id, ScopeSnapshot.version == version)):
        return
    session.add(ScopeSnapshot(user_id=user.id, version=version, cell_ids=sorted(cells)))
    session.flush()


def pull(session, user, *, cursor, known_scope=None, limit=200):
    """Return {"items", "next_cursor", "has_more", "scope", "reset"} for a terminal."""
    try:
        position = decode_cursor(cursor)
    except ValueError as error:
        raise AppError("The cursor is not one this server issued.", code="bad_cursor",
                       status=400) from error
    limit = max(1, min(int(limit), MAX_PAGE))
    cells = scope_cells(session, user)
    version = scope_version(cells)
    _remember(session, user, version, cells)
    head = session.scalar(select(func.max(ChangeEvent.seq))) or 0
    if position > head:
        raise CursorGone("The server does not know this cursor (restored?); resync from the "
                         "start.", details={"cursor": None})
    if position == 0:
        return {"items": snapshot(session, user, cells), "next_cursor": encode_cursor(head),
                "has_more": False, "scope": version, "reset": True}
    items = []
    if known_scope is not None and known_scope != version:
        items.extend(_scope_delta(session, user, known_scope, cells))
    events = session.scalars(_visible_events(user, cells).where(ChangeEvent.seq > position)
                             .order_by(ChangeEvent.seq).limit(limit + 1)).all()
    has_more = len(events) > limit
    events = events[:limit]
    # Without more to read, move past invisible events too, so they are not read again.
    next_seq = events[-1].seq if has_more else max(head, position)
    changes = collapse([{"seq": e.seq, "entity_type": e.entity_type, "entity_id": e.entity_id,
                         "op": e.op} for e in events])
    items.extend(materialize(session, user, changes))
    return {"items": items, "next_cursor": encode_cursor(next_seq), "has_more": has_more,
            "scope": version, "reset": False}


def _visible_events(user, cells):
    query = select(ChangeEvent)
    if cells is None:
        return query.where(or_(ChangeEvent.user_id.is_(None), ChangeEvent.user_id == user.id))
    in_scope = select(GridCell.id).where(cell_scope_clause(user))
    return query.where(or_(
        ChangeEvent.user_id == user.id,
        (ChangeEvent.user_id.is_(None)) & (ChangeEvent.cell_id.is_(None))
        & (ChangeEvent.old_cell_id.is_(None)),
        (ChangeEvent.user_id.is_(None)) & (ChangeEvent.cell_id.in_(in_scope)),
        (ChangeEvent.user_id.is_(None)) & (ChangeEvent.old_cell_id.in_(in_scope)),
    ))


def _scope_delta(session, user, known_scope, cells):
    old = session.scalar(select(ScopeSnapshot).where(ScopeSnapshot.user_id == user.id,
                                                     ScopeSnapshot.version == known_scope))
    if old is None:
        raise CursorGone("Your cells changed in a way this server cannot replay; resync from "
                         "the start.", details={"cursor": None})
    before = set(old.cell_ids)
    after = cells if cells is not None else before
    left, entered = before - after, after - before
    tombstones = [("cell", cell_id) for cell_id in sorted(left)]
    if left:
        tombstones += [("premises", row_id) for row_id in session.scalars(
            select(Premises.id).where(Premises.cell_id.in_(left)))]
        tombstones += [("task", row_id) for row_id in session.scalars(
            select(Task.id).join(Premises, Premises.id == Task.premises_id)
            .where(Premises.cell_id.in_(left)))]
    items = [{"type": kind, "id": row_id, "op": "delete"} for kind, row_id in tombstones]
    if entered:
        items += snapshot(session, user, cells, only_cells=entered)
    return items


def snapshot(session, user, cells, only_cells=None):
    """Return upsert items for everything in scope (or in only_cells of it)."""
    cell_query = select(GridCell).join(GridMap, GridMap.id == GridCell.map_id).where(
        GridMap.status == "active", cell_scope_clause(user))
    premises = premises_query(user)
    tasks = tasks_query(user).where(Task.status == "open")
    if only_cells is not None:
        cell_query = cell_query.where(GridCell.id.in_(only_cells))
        premises = premises.where(Premises.cell_id.in_(only_cells))
        tasks = tasks.where(Premises.cell_id.in_(only_cells))
    items = [_item("cell", c) for c in session.scalars(cell_query.order_by(GridCell.path))]
    items += [_item("premises", p) for p in session.scalars(premises)]
    items += [_item("task", t) for t in session.scalars(tasks)]
    if only_cells is None:
        items += [_item("checklist", t) for t in session.scalars(
            select(ChecklistTemplate).where(ChecklistTemplate.status == "active")
            .order_by(ChecklistTemplate.id))]
    return items


def _item(kind, obj, op="upsert"):
    return {"type": kind, "id": obj.id, "op": op, "object": obj}


LOADERS = {
    "premises": lambda user: premises_query(user),
    "task": lambda user: tasks_query(user),
    "inspection_status": lambda user: inspections_query(user),
    "checklist": lambda user: select(ChecklistTemplate),
}
MODELS = {"premises": Premises, "task": Task, "inspection_status": Inspection,
          "checklist": ChecklistTemplate}


def materialize(session, user, changes):
    """Turn collapsed changes into items: the current state if visible, else a tombstone."""
    wanted = {}
    for change in changes:
        if change["op"] == "upsert" and change["entity_type"] in LOADERS:
            wanted.setdefault(change["entity_type"], set()).add(int(change["entity_id"]))
    found = {}
    for kind, ids in wanted.items():
        model = MODELS[kind]
        found[kind] = {obj.id: obj for obj in session.scalars(
            LOADERS[kind](user).where(model.id.in_(ids)))}
    items = []
    for change in changes:
        kind, entity_id = change["entity_type"], int(change["entity_id"])
        obj = found.get(kind, {}).get(entity_id)
        if obj is not None and not (kind == "task" and obj.status == "cancelled"):
            items.append(_item(kind, obj))
        else:
            items.append({"type": kind, "id": entity_id, "op": "delete"})
    return items
