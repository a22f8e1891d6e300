"""Delta pulls: what changed in a user's scope since their cursor, with tombstones.

Cost follows the changes since the cursor (the feed is read by sequence number). A first
pull, and a pull after the user's scope changed, is a snapshot (of everything, or of the
cells that entered and left the scope) sent in bounded pages read by id (page k reads only
its rows). A pull whose changes outnumber what the scope holds is answered by a snapshot
(reset), so catching up never costs more than starting again.
"""

import hashlib
import time

from flask import current_app
from sqlalchemy import func, or_, select

from grid_maps.lru import BuildOnceCache
from server.errors import AppError
from server.models import (
    ChangeEvent,
    ChecklistTemplate,
    Complaint,
    FeedPrune,
    GridCell,
    GridMap,
    Inspection,
    Notification,
    Premises,
    RectificationOrder,
    ScopeSnapshot,
    Task,
)
from server.services.changes import BROADCAST_KINDS, feed_head
from server.services.followups.complaints import OPEN_STATUSES, complaints_query
from server.services.followups.notifications import notifications_query
from server.services.followups.orders import orders_query
from server.services.followups.transitions import shipped_transitions
from server.services.inspections import inspections_query
from server.services.premises import premises_query
from server.services.scope import cell_scope_clause, resolve_scope
from server.services.tasks import tasks_query
from sync.protocol import SnapshotCursor, collapse, encode_cursor, parse_cursor

MAX_PAGE = 1000
# A delta is answered by a snapshot only past this many changes (and past the scope's size):
# below it, catching up takes a page or so whatever the scope.
SNAPSHOT_FLOOR = 1000
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


def scope_version(session, user):
    """Name a scope by a digest of its path ranges on the active maps (resolved once per
    request): a page does not read every cell id in scope to know whether the scope changed.
    Active maps never change their cells, so the same ranges are the same cells."""
    if user.is_admin:  # everything: it changes only with the active maps (their cells)
        active = session.scalars(select(GridMap.id).where(GridMap.status == "active")
                                 .order_by(GridMap.id))
        named = ",".join(map(str, active))
        return ALL + hashlib.sha256(named.encode()).hexdigest()[:16]
    ranges = resolve_scope(user, session=session).ranges
    maps = {map_id for map_id, _ in ranges}
    active = set(session.scalars(select(GridMap.id).where(
        GridMap.id.in_(sorted(maps)), GridMap.status == "active"))) if maps else set()
    named = ";".join(f"{map_id}:{path}" for map_id, path in ranges if map_id in active)
    return hashlib.sha256(named.encode()).hexdigest()[:32]


def _remember(session, user, version):
    """Store the cells of a scope version the first time it is seen (a delta snapshot later
    compares a terminal's version with today's by them)."""
    if user.is_admin or session.scalar(select(ScopeSnapshot.id).where(
            ScopeSnapshot.user_id == user.id, ScopeSnapshot.version == version)):
        return
    cells = scope_cells(session, user)
    session.add(ScopeSnapshot(user_id=user.id, version=version, cell_ids=sorted(cells)))
    session.flush()


def _cells_of(session, user, version):
    """Return a function giving the cell ids of the user's scope (None for everything), read
    from the scope's stored snapshot once, when a step needs them."""
    found = []

    def cells():
        if user.is_admin:
            return None
        if not found:
            found.append(set(session.scalar(select(ScopeSnapshot.cell_ids).where(
                ScopeSnapshot.user_id == user.id, ScopeSnapshot.version == version))))
        return found[0]
    return cells


def pull(session, user, *, cursor, known_scope=None, limit=200):
    """Return {"items", "next_cursor", "has_more", "scope", "reset"} for a terminal.

    Without a cursor, and when the user's scope changed, the answer is a snapshot sent in
    pages like any other answer (a snapshot cursor says where it stands); then the feed.
    """
    try:
        position = parse_cursor(cursor)
    except ValueError as error:
        raise AppError("The cursor is not one this server issued.", code="bad_cursor",
                       status=400) from error
    limit = max(1, min(int(limit), MAX_PAGE))
    version = scope_version(session, user)
    _remember(session, user, version)
    cells = _cells_of(session, user, version)
    head = feed_head(session)
    if isinstance(position, SnapshotCursor):
        if position.scope != version:
            raise CursorGone("Your cells changed while the snapshot was being sent; start "
                             "again without a cursor.", details={"cursor": None})
        _check_servable(session, position.resume, head)
        return _snapshot_page(session, user, cells, position, limit, head, reset=False)
    if position:
        _check_servable(session, position, head)
    if position == 0 or _changes_outnumber_scope(session, user, version, position, head):
        # A snapshot costs what the scope holds; a delta longer than that is answered by one.
        start = SnapshotCursor(resume=head, step=0, after_id=0, scope=version)
        return _snapshot_page(session, user, cells, start, limit, head, reset=True)
    if known_scope is not None and known_scope != version and user.is_admin:
        # Everything changed maps: the new maps' cells and where every premises now lies.
        start = SnapshotCursor(resume=head, step=0, after_id=0, scope=version)
        return _snapshot_page(session, user, cells, start, limit, head, reset=True)
    if known_scope is not None and known_scope != version:
        # What entered and left the scope first, then the feed from where the terminal was.
        start = SnapshotCursor(resume=position, step=0, after_id=0, scope=version,
                               base=known_scope, until=head)
        return _snapshot_page(session, user, cells, start, limit, head, reset=False)
    events = session.scalars(_visible_events(user)
                             .where(ChangeEvent.seq > position, ChangeEvent.seq <= head)
                             .order_by(ChangeEvent.seq).limit(limit + 1)).all()
    if position < feed_floor(session):  # pruned while this pull read: some may be gone
        raise CursorGone("The changes since this cursor were pruned from the server; resync "
                         "from the start.", details={"cursor": None})
    has_more = len(events) > limit
    events = events[:limit]
    # Without more to read, move past invisible events too, so they are not read again.
    next_seq = events[-1].seq if has_more else max(head, position)
    changes = collapse([{"seq": e.seq, "entity_type": e.entity_type, "entity_id": e.entity_id,
                         "op": e.op} for e in events])
    return {"items": materialize(session, user, changes), "next_cursor": encode_cursor(next_seq),
            "has_more": has_more, "scope": version, "reset": False}


def scope_size(session, user):
    """Return about how many items a snapshot of the user's scope holds: cells and premises
    (the bulk of it; tasks, orders and complaints are fewer than premises)."""
    cells = (select(func.count()).select_from(GridCell)
             .join(GridMap, GridMap.id == GridCell.map_id)
             .where(GridMap.status == "active", cell_scope_clause(user)))
    premises = premises_query(user).order_by(None).with_only_columns(func.count(Premises.id))
    return session.scalar(cells) + session.scalar(premises)


# The size of a scope version, counted at most once per worker and PULL_SCOPE_SIZE_SECONDS:
# an estimate for choosing snapshot or delta, not a figure anyone reads (a terminal catching up
# on a long delta would otherwise count its scope on every page).
_sizes = BuildOnceCache()


def _scope_size_estimate(session, user, version):
    seconds = current_app.config.get("PULL_SCOPE_SIZE_SECONDS", 0)
    if seconds <= 0:
        return scope_size(session, user)
    return _sizes.get((user.id, version, int(time.monotonic() // seconds)),
                      lambda: scope_size(session, user), maxsize=256)


def _changes_outnumber_scope(session, user, version, position, head):
    """Return whether more events since position are visible to the user than a snapshot of
    their scope holds items (and than SNAPSHOT_FLOOR). Reads at most that many events."""
    if head - position <= SNAPSHOT_FLOOR:  # seq numbers bound the events: nothing to count
        return False
    bound = max(_scope_size_estimate(session, user, version), SNAPSHOT_FLOOR)
    if head - position <= bound:
        return False
    visible = (_visible_events(user).with_only_columns(ChangeEvent.seq)
               .where(ChangeEvent.seq > position, ChangeEvent.seq <= head)
               .order_by(ChangeEvent.seq).limit(bound + 1).subquery())
    return session.scalar(select(func.count()).select_from(visible)) > bound


def _visible_events(user, left=()):
    """Select the events the user sees: theirs, broadcasts, and those touching their cells
    (and the cells in left: what left their scope, while catching up after a delta snapshot)."""
    query = select(ChangeEvent)
    if user.is_admin:
        return query.where(or_(ChangeEvent.user_id.is_(None), ChangeEvent.user_id == user.id))
    in_scope = select(GridCell.id).where(cell_scope_clause(user))
    touching = [(ChangeEvent.user_id.is_(None)) & (ChangeEvent.cell_id.in_(in_scope)),
                (ChangeEvent.user_id.is_(None)) & (ChangeEvent.old_cell_id.in_(in_scope))]
    if left:
        touching += [(ChangeEvent.user_id.is_(None)) & (ChangeEvent.cell_id.in_(sorted(left))),
                     (ChangeEvent.user_id.is_(None))
                     & (ChangeEvent.old_cell_id.in_(sorted(left)))]
    return query.where(or_(
        ChangeEvent.user_id == user.id,
        (ChangeEvent.user_id.is_(None)) & (ChangeEvent.cell_id.is_(None))
        & (ChangeEvent.old_cell_id.is_(None)) & ChangeEvent.entity_type.in_(BROADCAST_KINDS),
        *touching,
    ))


def feed_floor(session):
    """Return the feed position below which events were pruned (0 if never)."""
    return session.scalar(select(func.max(FeedPrune.pruned_through_seq))) or 0


def _check_servable(session, position, head):
    if position > head:
        raise CursorGone("The server does not know this cursor (restored?); resync from the "
                         "start.", details={"cursor": None})
    if position < feed_floor(session):
        raise CursorGone("The changes since this cursor were pruned from the server; resync "
                         "from the start.", details={"cursor": None})


# A snapshot is sent in steps, each read by id: (kind, op). New kinds go at the end, so a
# snapshot cursor issued before they came still names the same step.
FULL_STEPS = (("cell", "upsert"), ("premises", "upsert"), ("task", "upsert"),
              ("checklist", "upsert"), ("order", "upsert"), ("complaint", "upsert"),
              ("notification", "upsert"))
DELTA_STEPS = (("cell", "delete"), ("premises", "delete"), ("task", "delete"),
               ("cell", "upsert"), ("premises", "upsert"), ("task", "upsert"),
               ("order", "delete"), ("order", "upsert"),
               ("complaint", "delete"), ("complaint", "upsert"))
# After the steps of a delta snapshot whose cursor names where it began (until): the feed from
# the terminal's cursor up to there, less what the snapshot sent. Its cursor's resume moves on.
CATCH_UP = len(DELTA_STEPS)


def _snapshot_page(session, user, cells, position, limit, head, *, reset):
    """Return one page of a snapshot and the cursor of the next (or of the feed when done)."""
    if position.base is None:
        steps, entered, left = FULL_STEPS, None, set()
    else:
        old = session.scalar(select(ScopeSnapshot).where(ScopeSnapshot.user_id == user.id,
                                                         ScopeSnapshot.version == position.base))
        if old is None:
            raise CursorGone("Your cells changed in a way this server cannot replay; resync "
                             "from the start.", details={"cursor": None})
        before = set(old.cell_ids)
        after = cells() if cells() is not None else before
        steps, entered, left = DELTA_STEPS, after - before, before - after
    catching_up = position.base is not None and position.until is not None
    if position.step > len(steps) or (position.step == len(steps) and not catching_up) \
            or (catching_up and position.resume > position.until):
        raise AppError("The cursor is not one this server issued.", code="bad_cursor", status=400)
    items = []
    step, after_id, resume = position.step, position.after_id, position.resume
    while step < len(steps) and len(items) < limit:
        kind, op = steps[step]
        wanted = limit - len(items)
        if op == "delete":
            ids = _leaving_ids(session, kind, left, after_id, wanted)
            items += [{"type": kind, "id": row_id, "op": "delete"} for row_id in ids]
        else:
            rows = _snapshot_rows(session, user, kind, entered, after_id, wanted)
            ids = [row.id for row in rows]
            items += [_item(kind, row) for row in rows]
        if len(ids) == wanted:
            after_id = ids[-1]
        else:
            step, after_id = step + 1, 0
    if catching_up and step == CATCH_UP and resume < position.until and len(items) < limit:
        sent, resume = _catch_up(session, user, entered, left, resume, position.until,
                                 limit - len(items))
        items += sent
    scope = position.scope
    if step < len(steps) or (catching_up and resume < position.until):
        following = SnapshotCursor(resume, step, after_id, scope, position.base,
                                   position.until)
        return {"items": items, "next_cursor": following.encode(), "has_more": True,
                "scope": scope, "reset": reset}
    return {"items": items, "next_cursor": encode_cursor(resume),
            "has_more": head > resume, "scope": scope, "reset": reset}


def _catch_up(session, user, entered, left, resume, until, limit):
    """Return (items, position) of the feed after resume up to until, without the entities the
    delta snapshot sent: the current state of those in the entered cells (open ones for tasks,
    orders and complaints), tombstones of those in the cells that left. Events touching the
    cells that left are read too, so what moved out of the scope gets its tombstone."""
    events = session.scalars(_visible_events(user, left)
                             .where(ChangeEvent.seq > resume, ChangeEvent.seq <= until)
                             .order_by(ChangeEvent.seq).limit(limit + 1)).all()
    more = len(events) > limit
    events = events[:limit]
    changes = collapse([{"seq": e.seq, "entity_type": e.entity_type, "entity_id": e.entity_id,
                         "op": e.op} for e in events])
    items = materialize(session, user, changes)
    wanted = {}
    for item in items:
        if item["type"] in SNAPSHOT_CELL:
            wanted.setdefault(item["type"], set()).add(item["id"])
    where = {kind: _current_cells(session, kind, ids) for kind, ids in wanted.items()}
    kept = [item for item in items if not _sent_by_snapshot(item, where, entered, left)]
    return kept, (events[-1].seq if more else until)


def _sent_by_snapshot(item, where, entered, left):
    kind = item["type"]
    if kind not in SNAPSHOT_CELL:
        return False
    cell_id = where[kind].get(item["id"])
    if item["op"] == "delete":
        return cell_id is not None and cell_id in left
    if cell_id is None or cell_id not in entered:
        return False
    obj = item["object"]
    if kind == "task":
        return obj.status == "open"
    if kind == "order":
        return obj.state in shipped_transitions().open_states()
    if kind == "complaint":
        return obj.status in OPEN_STATUSES
    return True


# The kinds a delta snapshot sends by cell: where each one's cell is read.
SNAPSHOT_CELL = {"premises": None, "task": Task, "order": RectificationOrder,
                 "complaint": Complaint}


def _current_cells(session, kind, ids):
    """Return {id: the cell the entity is in now} (through its premises for tasks, orders)."""
    if kind == "premises":
        query = select(Premises.id, Premises.cell_id)
    elif kind == "complaint":
        query = select(Complaint.id, Complaint.cell_id)
    else:
        model = SNAPSHOT_CELL[kind]
        query = select(model.id, Premises.cell_id).join(Premises, Premises.id == model.premises_id)
    model = SNAPSHOT_CELL[kind] or Premises
    return dict(session.execute(query.where(model.id.in_(sorted(ids)))).all())


def _snapshot_rows(session, user, kind, only_cells, after_id, limit):
    """Return up to limit rows of a kind in scope (or in only_cells of it), by id after after_id."""
    if only_cells is not None and not only_cells:
        return []
    if kind == "cell":
        query = select(GridCell).join(GridMap, GridMap.id == GridCell.map_id).where(
            GridMap.status == "active", cell_scope_clause(user))
        model = GridCell
        if only_cells is not None:
            query = query.where(GridCell.id.in_(sorted(only_cells)))
    elif kind == "premises":
        query, model = premises_query(user), Premises
        if only_cells is not None:
            query = query.where(Premises.cell_id.in_(sorted(only_cells)))
    elif kind == "task":
        query, model = tasks_query(user).where(Task.status == "open"), Task
        if only_cells is not None:
            query = query.join(Premises, Premises.id == Task.premises_id) if user.is_admin \
                else query
            query = query.where(Premises.cell_id.in_(sorted(only_cells)))
    elif kind == "order":  # the open ones: a finished order reaches terminals by the feed
        query, model = orders_query(user).where(
            RectificationOrder.state.in_(shipped_transitions().open_states())), RectificationOrder
        if only_cells is not None:
            query = query.join(Premises, Premises.id == RectificationOrder.premises_id) \
                if user.is_admin else query
            query = query.where(Premises.cell_id.in_(sorted(only_cells)))
    elif kind == "complaint":
        query = complaints_query(user).where(Complaint.status.in_(OPEN_STATUSES))
        model = Complaint
        if only_cells is not None:
            query = query.where(Complaint.cell_id.in_(sorted(only_cells)))
    elif kind == "notification":  # the user's own unread ones; they belong to no cell
        if only_cells is not None:
            return []
        query = select(Notification).where(Notification.user_id == user.id,
                                           Notification.read_at.is_(None))
        model = Notification
    else:
        query = select(ChecklistTemplate).where(ChecklistTemplate.status == "active")
        model = ChecklistTemplate
    return session.scalars(query.where(model.id > after_id).order_by(None).order_by(model.id)
                           .limit(limit)).all()


def _leaving_ids(session, kind, left, after_id, limit):
    """Return up to limit ids of a kind in cells that left the scope, after after_id."""
    if not left:
        return []
    if kind == "cell":
        return [cell_id for cell_id in sorted(left) if cell_id > after_id][:limit]
    if kind == "premises":
        query = select(Premises.id).where(Premises.cell_id.in_(sorted(left)),
                                          Premises.id > after_id).order_by(Premises.id)
    elif kind == "complaint":
        query = select(Complaint.id).where(Complaint.cell_id.in_(sorted(left)),
                                           Complaint.id > after_id).order_by(Complaint.id)
    else:
        model = RectificationOrder if kind == "order" else Task
        query = (select(model.id).join(Premises, Premises.id == model.premises_id)
                 .where(Premises.cell_id.in_(sorted(left)), model.id > after_id)
                 .order_by(model.id))
    return list(session.scalars(query.limit(limit)))


def _item(kind, obj, op="upsert"):
    return {"type": kind, "id": obj.id, "op": op, "object": obj}


LOADERS = {
    "premises": lambda user: premises_query(user),
    "task": lambda user: tasks_query(user),
    "inspection_status": lambda user: inspections_query(user),
    "checklist": lambda user: select(ChecklistTemplate),
    "order": lambda user: orders_query(user),
    "complaint": lambda user: complaints_query(user),
    "notification": lambda user: notifications_query(user),
}
MODELS = {"premises": Premises, "task": Task, "inspection_status": Inspection,
          "checklist": ChecklistTemplate, "order": RectificationOrder, "complaint": Complaint,
          "notification": Notification}


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
        if kind not in LOADERS:  # office work in the feed (cases): never pulled
            continue
        obj = found.get(kind, {}).get(entity_id)
        if obj is not None and not (kind == "task" and obj.status == "cancelled"):
            items.append(_item(kind, obj))
        else:
            items.append({"type": kind, "id": entity_id, "op": "delete"})
    return items
