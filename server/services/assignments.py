"""Putting named staff on cells (定员、定责), and ending it."""

from datetime import date

from sqlalchemy import select

from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import CellAssignment, GridCell, GridMap, User
from server.models._types import utcnow
from server.services import audit
from server.services.scope import (
    active_assignment_clause,
    cell_scope_clause,
    get_cell_in_scope,
    not_ended_clause,
    require_role,
    standing_assignment_clause,
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


def _staff_or_free(session, actor, user_id):
    """Return whether a supervisor may take this person on: on their cells already, or on
    nobody's (no assignment in force or planned on a map that is not retired)."""
    standing = (select(CellAssignment.id)
                .join(GridCell, GridCell.id == CellAssignment.cell_id)
                .join(GridMap, GridMap.id == GridCell.map_id)
                .where(CellAssignment.user_id == user_id, GridMap.status != "retired",
                       standing_assignment_clause()).limit(1))
    if session.scalar(standing) is None:
        return True
    return session.scalar(standing.where(cell_scope_clause(actor))) is not None


def create_assignment(session, actor, *, user_id, cell_id, duty=(), valid_from=None, valid_to=None):
    """Assign a user to a cell the actor manages, with a duty and a period from today on.

    Supervisors assign officers and coordinators already on their cells or on no one's;
    admins anyone. No one backdates: scope in the past cannot be granted after the fact.
    """
    require_role(actor, "supervisor")
    cell = _managed_cell(session, actor, cell_id)
    grid_map = session.get(GridMap, cell.map_id)
    if grid_map.status == "retired":
        raise Conflict("Cells of a retired map cannot be assigned.", code="map_retired")
    user = session.get(User, user_id)
    assignable = user is not None and user.active and (actor.is_admin or (
        user.role in ASSIGNABLE_BY_SUPERVISORS and _staff_or_free(session, actor, user_id)))
    if not assignable:
        # One answer for "no such user" and "not yours to assign": ids reveal nothing.
        raise NotFound(f"User {user_id} not found or not assignable by you.",
                       code="user_not_assignable")
    today = date.today()
    valid_from = valid_from or today
    if valid_from < today:
        raise ValidationFailed("valid_from is before today; assignments are not backdated.",
                               details={"valid_from": ["must not be before today"]})
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed("valid_to is before valid_from.",
                               details={"valid_to": ["must not be before valid_from"]})
    overlapping = session.scalar(select(CellAssignment.id).where(
        CellAssignment.user_id == user_id, CellAssignment.cell_id == cell_id,
        (CellAssignment.valid_to.is_(None)) | (CellAssignment.valid_to >= valid_from),
        not_ended_clause(),
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


def end_assignment(session, actor, assignment_id):
    """End an assignment at once (kept for the record): from now on it gives no scope."""
    require_role(actor, "supervisor")
    assignment = get_assignment(session, actor, assignment_id)
    _managed_cell(session, actor, assignment.cell_id)
    today = date.today()
    if assignment.ended_at is not None or (
            assignment.valid_to is not None and assignment.valid_to < today):
        raise Conflict("The assignment has already ended.", code="assignment_ended")
    before = assignment_state(assignment)
    assignment.ended_at = utcnow()
    # The last day it was in force; a planned one never was, and keeps valid_from <= valid_to.
    assignment.valid_to = max(today, assignment.valid_from)
    session.flush()
    audit.record(session, actor, "assignment.end", "cell_assignment", assignment.id,
                 before=before, after=assignment_state(assignment))
    return assignment


def assignment_state(assignment):
    """Return the audited state of an assignment."""
    return {"user_id": assignment.user_id, "cell_id": assignment.cell_id,
            "duty": assignment.duty, "valid_from": assignment.valid_from,
            "valid_to": assignment.valid_to, "ended_at": assignment.ended_at}
