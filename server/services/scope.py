"""Who sees what: a user's scope is their assigned cells and every cell below them."""

from dataclasses import dataclass
from datetime import date, datetime

from flask import has_request_context
from sqlalchemy import Integer, String, and_, event, exists, false, literal, or_, select, true
from sqlalchemy.orm import aliased, object_session

from server.errors import Forbidden, NotFound
from server.extensions import db
from server.models import CellAssignment, GridCell, GridMap, Premises
from server.models._types import utcnow


def not_ended_clause(now=None):
    """SQL condition: nobody has ended the assignment (ending takes effect at once)."""
    now = now or utcnow()
    return or_(CellAssignment.ended_at.is_(None), CellAssignment.ended_at > now)


def active_assignment_clause(today=None, now=None):
    """SQL condition for an assignment in force now: begun, not past its last day, not ended."""
    today = today or date.today()
    return and_(
        CellAssignment.valid_from <= today,
        or_(CellAssignment.valid_to.is_(None), CellAssignment.valid_to >= today),
        not_ended_clause(now),
    )


def standing_assignment_clause(today=None, now=None):
    """SQL condition for an assignment in force now or planned: not over, not ended."""
    today = today or date.today()
    return and_(or_(CellAssignment.valid_to.is_(None), CellAssignment.valid_to >= today),
                not_ended_clause(now))


# Paths are "/" + cell ids joined by "/" + "/" (server/services/grid.py): every character is
# below "~", so the cells under a path p are exactly those with p <= path < p + "~". Compared
# bytewise: SQLite's BINARY collation, the "C" collation of grid_cells.path on PostgreSQL; the
# index on (map_id, path) serves these ranges on both.
PATH_END = "~"
# Beyond this many ranges the clause is a correlated EXISTS over the user's assignments.
MAX_RANGES = 300
_CACHE = "scope.resolved"


@dataclass(frozen=True)
class ResolvedScope:
    """A user's scope on one day: everything (admins) or path prefixes, nested ones merged.

    ranges holds (map_id, path) of the assigned cells that lie below no other assigned cell,
    sorted; expires is when an ending assignment takes it out (None: not today).
    """

    everything: bool
    ranges: tuple = ()
    expires: datetime | None = None

    @property
    def map_ids(self):
        return sorted({map_id for map_id, _ in self.ranges})

    def clause(self, cell=GridCell, strictly_below=False):
        """SQL condition: `cell` lies in this scope (strictly_below: not an assigned cell)."""
        if self.everything:
            return true()
        if not self.ranges:
            return false()
        return or_(*(subtree_clause(cell, map_id, path, strictly_below=strictly_below)
                     for map_id, path in self.ranges))

    def contains(self, map_id, path, strictly_below=False):
        """Return whether a cell (by map and path) lies in this scope, without SQL."""
        if self.everything:
            return True
        return any(map_id == m and path.startswith(p) and not (strictly_below and path == p)
                   for m, p in self.ranges)


def subtree_clause(cell, map_id, path, strictly_below=False):
    """SQL condition: `cell` is the cell at (map_id, path) or below it, as an index range.

    The bounds are written into the SQL, not bound: the same statement with a one-cell range
    and with a whole province needs different plans, and a plan PostgreSQL made once for any
    values (psycopg prepares statements it runs often) served a pull page of 1,000 premises
    in 1.1 s instead of 40 ms (bench/province.py, issue 10).
    """
    start, end = (literal(value, String, literal_execute=True) for value in (path, path + PATH_END))
    low = cell.path > start if strictly_below else cell.path >= start
    return and_(cell.map_id == literal(map_id, Integer, literal_execute=True), low,
                cell.path < end)


def merge_prefixes(rows):
    """Return the sorted (map_id, path) pairs lying below no other pair of the rows."""
    kept = []
    for map_id, path in sorted(set(rows)):
        if kept and kept[-1][0] == map_id and path.startswith(kept[-1][1]):
            continue  # below a kept prefix: sorted order puts it right after that prefix
        kept.append((map_id, path))
    return tuple(kept)


def resolve_scope(user, today=None, session=None):
    """Return the user's ResolvedScope, read once per request (cached on the session while a
    request runs; any write to the session, commit or rollback forgets it)."""
    if user.is_admin:
        return ResolvedScope(everything=True)
    if session is None:
        session = object_session(user) or db.session()
    today = today or date.today()
    now = utcnow()
    # Only the request's own session is cached: install() makes its writes forget.
    cached = has_request_context() and session is db.session()
    cache = session.info.setdefault(_CACHE, {}) if cached else {}
    key = (user.id, today)
    hit = cache.get(key)
    if hit is not None and (hit.expires is None or now < hit.expires):
        return hit
    rows = session.execute(
        select(GridCell.map_id, GridCell.path, CellAssignment.ended_at)
        .join(GridCell, GridCell.id == CellAssignment.cell_id)
        .where(CellAssignment.user_id == user.id, active_assignment_clause(today, now))).all()
    ends = [ended_at for _, _, ended_at in rows if ended_at is not None]
    resolved = ResolvedScope(everything=False,
                             ranges=merge_prefixes((m, p) for m, p, _ in rows),
                             expires=min(ends) if ends else None)
    cache[key] = resolved
    return resolved


def forget_resolved_scopes(session):
    """Drop the scopes cached on a session (assignments or cells may have changed)."""
    session.info.pop(_CACHE, None)


def install(session):
    """Forget cached scopes on the session's writes, commits and rollbacks (init_app)."""
    event.listen(session, "after_flush", _forget_on_flush)
    event.listen(session, "do_orm_execute", _forget_on_write)
    for name in ("after_commit", "after_rollback", "after_soft_rollback"):
        event.listen(session, name, _forget_on_end)


def _forget_on_flush(session, _context):
    if _CACHE in session.info and any(
            isinstance(obj, (CellAssignment, GridCell, GridMap))
            for obj in (*session.new, *session.dirty, *session.deleted)):
        forget_resolved_scopes(session)


def _forget_on_write(state):
    if not state.is_select:
        forget_resolved_scopes(state.session)


def _forget_on_end(session, *_args):
    forget_resolved_scopes(session)


def cell_scope_clause(user, cell=GridCell, today=None, strictly_below=False):
    """SQL condition: `cell` lies in the user's scope (always true for admins).

    The scope is resolved once (resolve_scope) into path ranges an index serves.
    strictly_below leaves out the assigned cells themselves: what a supervisor manages.
    """
    if user.is_admin:
        return true()
    resolved = resolve_scope(user, today)
    if len(resolved.ranges) <= MAX_RANGES:
        return resolved.clause(cell, strictly_below)
    assigned = aliased(GridCell)
    below = cell.path > assigned.path if strictly_below else cell.path >= assigned.path
    return exists(
        select(1)
        .select_from(CellAssignment)
        .join(assigned, assigned.id == CellAssignment.cell_id)
        .where(
            CellAssignment.user_id == user.id,
            active_assignment_clause(today),
            assigned.map_id == cell.map_id,
            below, cell.path < assigned.path + PATH_END,
        )
    )


def on_premises_in_scope(model, user):
    """Select the rows of a model about premises (model.premises_id) in the user's scope, by id.

    Visibility follows the premises' current cell (maps change); a row's own cell_id keeps
    where the premises was when it was made. Orders, penalties, measures and cases use it.
    """
    query = select(model).order_by(model.id)
    if user.is_admin:
        return query
    return (query.join(Premises, Premises.id == model.premises_id)
            .join(GridCell, GridCell.id == Premises.cell_id).where(cell_scope_clause(user)))


def scoped_cells(user):
    """Return a select() of the cells the user may see."""
    return select(GridCell).where(cell_scope_clause(user))


def get_cell_in_scope(session, user, cell_id):
    """Return the cell or raise NotFound, also when it exists outside the scope."""
    cell = session.scalar(select(GridCell).where(GridCell.id == cell_id, cell_scope_clause(user)))
    if cell is None:
        raise NotFound(f"Cell {cell_id} not found.")
    return cell


def covers_whole_grid(session, user):
    """Return whether the user answers for the whole grid: admins, or someone assigned to
    every top cell of every active map.

    Premises in no cell (orphans) lie outside every cell, so only such a user sees them.
    """
    if user.is_admin:
        return True
    top_cells = (select(GridCell.id).join(GridMap, GridMap.id == GridCell.map_id)
                 .where(GridMap.status == "active", GridCell.parent_id.is_(None)))
    if session.scalar(top_cells.limit(1)) is None:
        return False
    return session.scalar(top_cells.where(~cell_scope_clause(user)).limit(1)) is None


def require_whole_grid(session, user):
    """Raise Forbidden unless the user answers for the whole grid (see covers_whole_grid)."""
    if not covers_whole_grid(session, user):
        raise Forbidden("Premises in no cell are for admins and for supervisors of every top "
                        "cell of the active map.", code="whole_grid_required")


def require_role(user, *roles):
    """Raise Forbidden unless the user has one of the roles (admins always pass)."""
    if user.role != "admin" and user.role not in roles:
        allowed = ["admin", *(role for role in roles if role != "admin")]
        raise Forbidden(f"This action needs the role {' or '.join(allowed)}.",
                        code="role_required", details={"roles": allowed})


def visible_maps_query(user):
    """Select the maps holding at least one cell in the user's scope (admins: all maps)."""
    query = select(GridMap).order_by(GridMap.id)
    if not user.is_admin:
        query = query.where(exists(select(1).where(GridCell.map_id == GridMap.id,
                                                   cell_scope_clause(user))))
    return query


def get_map_in_scope(session, user, map_id):
    """Return a map the user may see, or raise NotFound."""
    grid_map = session.scalar(visible_maps_query(user).where(GridMap.id == map_id))
    if grid_map is None:
        raise NotFound(f"Map {map_id} not found.")
    return grid_map
