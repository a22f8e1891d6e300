"""Putting named staff on cells (定员、定责), and ending it."""

from datetime import date

from sqlalchemy import select

from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import CellAssignment, GridCell, GridMap, User
from server.services import audit
from server.services.scope import (
    active_assignment_clause,
    cell_scope_clause,
    get_cell_in_scope,
    require_role,
)


# Supervisors staff their cells with these roles; admins may assign anyone.
ASSIGNABLE_BY_SUPERVISORS = ("officer", "coordinator")


def _managed_cell(session, actor, cell_id):
    """Return a cell whose staff the actor manages: for supervisors, cells below their own."""
    cell = session.scalar(select(GridCell).where(
        GridCell.id == cell_id, cell_scope_clause(actor, strictly_below=True)))
    if cell is None:
        get_cell_in_scope(session, actor, cell_id)  # 404 when it is out of scope altogether
        raise Forbidden("Supervisors manage the staff of the cells below their own.",
                        code="not_managed")
    return cell


def create_assignment(session, actor, *, user_id, cell_id, duty=(), valid_from=None, valid_to=None):
    """Assign a user to a cell the actor manages, with a duty and a period."""
    require_role(actor, "supervisor")
    cell = _managed_cell(session, actor, cell_id)
    grid_map = session.get(GridMap, cell.map_id)
    if grid_map.status == "retired":
        raise Conflict("Cells of a retired map cannot be assigned.", code="map_retired")
    user = session.get(User, user_id)
    assignable = user is not None and user.active and (
        actor.is_admin or user.role in ASSIGNABLE_BY_SUPERVISORS)
    if not assignable:
        # One answer for "no such user" and "not yours to assign": ids reveal nothing.
        raise NotFound(f"User {user_id} not found or not assignable by you.",
                       code="user_not_assignable")
    valid_from = valid_from or date.today()
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed("valid_to is before valid_from.",
                               details={"valid_to": ["must not be before valid_from"]})
    overlapping = session.scalar(select(CellAssignment.id).where(
        CellAssignment.user_id == user_id, CellAssignment.cell_id == cell_id,
        (CellAssignment.valid_to.is_(None)) | (CellAssignment.valid_to >= valid_from),
        *([CellAssignment.valid_from <= valid_to] if valid_to else []),
    ))
    if overlapping:
        raise Conflict(f"User {user_id} is already assigned to cell {cell.code} in that period.",
                       code="assignment_exists", details={"assignment_id": overlapping})
    assignment = CellAssignment(user_id=user_id, cell_id=cell_id, duty=sorted(set(duty)),
                                valid_from=valid_from, valid_to=valid_to, created_by_id=actor.id)
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "assignment.create", "cell_assignment", assignment.id,
                 after=assignment_state(assignment))
    return assignment


def assignments_query(actor, *, user_id=None, cell_id=None, include_ended=False):
    """Select assignments on cells in the actor's scope."""
    query = (select(CellAssignment).join(GridCell, GridCell.id == CellAssignment.cell_id)
             .where(cell_scope_clause(actor)).order_by(CellAssignment.id))
    if user_id is not None:
        query = query.where(CellAssignment.user_id == user_id)
    if cell_id is not None:
        query = query.where(CellAssignment.cell_id == cell_id)
    if not include_ended:
        query = query.where(active_assignment_clause())
    return query


def get_assignment(session, actor, assignment_id):
    """Return an assignment in the actor's scope, or raise NotFound."""
    assignment = session.scalar(
        assignments_query(actor, include_ended=True).where(CellAssignment.id == assignment_id))
    if assignment is None:
        raise NotFound(f"Assignment {assignment_id} not found.")
    return assignment


def end_assignment(session, actor, assignment_id, *, on=None):
    """End an assignment (kept for the record): it no longer gives scope after `on`."""
    require_role(actor, "supervisor")
    assignment = get_assignment(session, actor, assignment_id)
    _managed_cell(session, actor, assignment.cell_id)
    on = on or date.today()
    if assignment.valid_to is not None and assignment.valid_to <= on:
        raise Conflict("The assignment has already ended.", code="assignment_ended")
    if on < assignment.valid_from:
        on = assignment.valid_from
    before = assignment_state(assignment)
    assignment.valid_to = on
    session.flush()
    audit.record(session, actor, "assignment.end", "cell_assignment", assignment.id,
                 before=before, after=assignment_state(assignment))
    return assignment


def assignment_state(assignment):
    """Return the audited state of an assignment."""
    return {"user_id": assignment.user_id, "cell_id": assignment.cell_id,
            "duty": assignment.duty, "valid_from": assignment.valid_from,
            "valid_to": assignment.valid_to}
