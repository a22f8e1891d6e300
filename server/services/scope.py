"""Who sees what: a user's scope is their assigned cells and every cell below them."""

from datetime import date

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import aliased

from server.errors import Forbidden, NotFound
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


def cell_scope_clause(user, cell=GridCell, today=None, strictly_below=False):
    """SQL condition: `cell` lies in the user's scope (always true for admins).

    strictly_below leaves out the assigned cells themselves: what a supervisor manages.
    """
    if user.is_admin:
        return true()
    assigned = aliased(GridCell)
    below = [cell.id != assigned.id] if strictly_below else []
    return exists(
        select(1)
        .select_from(CellAssignment)
        .join(assigned, assigned.id == CellAssignment.cell_id)
        .where(
            CellAssignment.user_id == user.id,
            active_assignment_clause(today),
            assigned.map_id == cell.map_id,
            cell.path.startswith(assigned.path, autoescape=False),
            *below,
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
