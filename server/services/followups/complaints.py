"""Complaints and reports (投诉举报): intake, routing to a cell, verification, feedback.

A complaint is routed by its premises (the premises' cell) or else by its location (point →
cell); one that cannot be routed waits, with no cell, on the queue of the users who answer
for the whole grid. A `complaint_verification` task needs a premises (tasks are on premises),
so a complaint routed by location alone waits on its cell's supervisors until one of them
names the premises (POST …/route): then the task goes to the cell's staff.

A real-name complaint's answer is due COMPLAINT_FEEDBACK_DAYS working days after the day it
was received, on the stored working-day calendar (services/followups/calendars.py), and so is
its verification task; a year with no calendar loaded refuses with 422 calendar_missing.

The complainant's personal data lives in its own table and only the office roles
(see SEES_COMPLAINANT) get it; it never enters the audit trail, the feed or the pull.
"""

from datetime import date, timedelta

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import Complainant, Complaint, ComplaintCategory, GridCell, GridMap
from server.models._types import utcnow
from server.models.complaints import VERIFICATION_OUTCOMES
from server.models.tasks import task_assignees
from server.services import audit
from server.services import changes as feed
from server.services.followups.calendars import stored_calendar
from server.services.followups.workdays import add_working_days
from server.services.lookup import locate
from server.services.paging import page
from server.services.premises import get_premises
from server.services.scope import (
    cell_scope_clause,
    covers_whole_grid,
    get_cell_in_scope,
    require_role,
    require_whole_grid,
)
from server.services.tasks import create_task

# Roles that see who complained (name, phone, ID number): the office, which gives the feedback.
# Field staff verify the facts; they get the content and the place, never the person.
SEES_COMPLAINANT = ("admin", "supervisor")
# received_at may lie this far ahead of the server clock (the desk's clock), and this far back.
# Complaints still being worked on: what a terminal's first pull carries.
OPEN_STATUSES = ("received", "verifying")
CLOCK_SLACK = timedelta(minutes=5)
OLDEST_RECEIVED = timedelta(days=366)


def due_day(received_at, days, calendar):
    """Return the day `days` WORKING days after the (server-local) day of received_at.

    The day received is not counted (期间开始之日不计算在内); weekends, public holidays and
    adjusted working days (调休) come from the calendar. Pure; a year the calendar lacks raises
    CalendarMissing (422 calendar_missing).
    """
    return add_working_days(received_at.astimezone().date(), days, calendar)


def _due(session, received_at, feedback_days):
    """Return the feedback (and verification) due day on the stored working-day calendar."""
    return due_day(received_at, feedback_days, stored_calendar(session))


def sees_complainant(actor):
    """Return whether the actor's role may read the complainant's personal data."""
    return actor.role in SEES_COMPLAINANT


def complaints_query(actor):
    """Select the complaints the actor sees in their cells; field staff: those they verify."""
    query = select(Complaint).order_by(Complaint.id)
    if actor.is_admin:
        return query
    query = query.join(GridCell, GridCell.id == Complaint.cell_id).where(cell_scope_clause(actor))
    if actor.role in ("officer", "coordinator"):
        query = query.where(Complaint.task_id.in_(
            select(task_assignees.c.task_id).where(task_assignees.c.user_id == actor.id)))
    return query


def unrouted_query(session, actor):
    """Select the complaints in no cell: the queue of admins and whole-grid supervisors."""
    require_role(actor, "supervisor")
    require_whole_grid(session, actor)
    return select(Complaint).where(Complaint.cell_id.is_(None)).order_by(Complaint.id)


def get_complaint(session, actor, complaint_id):
    """Return a complaint the actor sees (unrouted ones: the whole grid's), or raise NotFound."""
    complaint = session.scalar(complaints_query(actor).where(Complaint.id == complaint_id))
    if complaint is None and actor.role == "supervisor":
        unrouted = session.scalar(select(Complaint).where(Complaint.id == complaint_id,
                                                          Complaint.cell_id.is_(None)))
        if unrouted is not None and covers_whole_grid(session, actor):
            complaint = unrouted
    if complaint is None:
        raise NotFound(f"Complaint {complaint_id} not found.")
    return complaint


def list_complaints(session, actor, *, status=None, feedback_overdue=False,
                    awaiting_premises=False, limit, offset=0, cursor=None):
    """Return a page of the complaints the actor sees, with the filters.

    feedback_overdue: real-name complaints not answered by their due day (computed today).
    awaiting_premises: routed to a cell but with no premises yet, so no task.
    """
    query = complaints_query(actor)
    if status:
        query = query.where(Complaint.status == status)
    if feedback_overdue:
        query = query.where(Complaint.feedback_due < date.today(),
                            Complaint.feedback_at.is_(None))
    if awaiting_premises:
        query = query.where(Complaint.status == "received", Complaint.cell_id.is_not(None))
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def list_unrouted(session, actor, *, limit, offset=0, cursor=None):
    """Return a page of the complaints in no cell (admins, whole-grid supervisors)."""
    return page(session, unrouted_query(session, actor), limit=limit, offset=offset, cursor=cursor)


def complaint_state(complaint):
    """Return the audited state of a complaint: no personal data of the complainant."""
    return {"channel": complaint.channel, "received_at": complaint.received_at,
            "category_code": complaint.category_code, "content": complaint.content,
            "address": complaint.address, "premises_id": complaint.premises_id,
            "anonymous": complaint.anonymous, "cell_id": complaint.cell_id,
            "status": complaint.status, "task_id": complaint.task_id,
            "feedback_due": complaint.feedback_due,
            "verification_result": complaint.verification_result,
            "feedback_text": complaint.feedback_text}


def intake(session, actor, data, *, feedback_days):
    """Record a complaint and route it: by premises, else by location, else unrouted.

    data is a ComplaintCreate (shape already checked). Supervisors take complaints about
    their cells (and about places in no cell, which go to the whole grid's queue).
    """
    require_role(actor, "supervisor")
    now = utcnow()
    received_at = data.get("received_at") or now
    if not now - OLDEST_RECEIVED <= received_at <= now + CLOCK_SLACK:
        raise ValidationFailed("received_at must be within the last year and not in the future.",
                               code="received_at_out_of_range",
                               details={"received_at": [received_at.isoformat()]})
    category = session.get(ComplaintCategory, data["category_code"])
    if category is None or not category.active:
        raise ValidationFailed(f"Unknown complaint category {data['category_code']!r}.",
                               code="unknown_category",
                               details={"category_code": ["unknown category"]})
    premises = None
    if data.get("premises_id") is not None:
        premises = get_premises(session, actor, data["premises_id"])
    location = None
    if data.get("lon") is not None:
        location = from_shape(Point(data["lon"], data["lat"]), srid=4326)
    # Counted before anything is stored: a year without a calendar refuses the intake.
    opens_task = premises is not None and premises.cell_id is not None
    due = (_due(session, received_at, feedback_days)
           if opens_task or not data["anonymous"] else None)
    complaint = Complaint(
        channel=data["channel"], received_at=received_at, category_code=category.code,
        content=data["content"], address=data.get("address") or "", location=location,
        premises_id=premises.id if premises else None, anonymous=data["anonymous"],
        status="received", entered_by_id=actor.id, created_at=now, updated_at=now,
        feedback_due=None if data["anonymous"] else due)
    complaint.cell_id = _route_cell(session, actor, premises, data)
    session.add(complaint)
    session.flush()
    if not data["anonymous"]:
        person = data["complainant"]
        session.add(Complainant(complaint_id=complaint.id, name=person["name"],
                                phone=person["phone"], id_number=person.get("id_number")))
    if opens_task:
        _open_task(session, actor, complaint, premises, due)
    session.flush()
    feed.emit(session, "complaint", complaint.id, cell_id=complaint.cell_id)
    audit.record(session, actor, "complaint.intake", "complaint", complaint.id,
                 after=complaint_state(complaint))
    return complaint


def _route_cell(session, actor, premises, data):
    """Return the cell a new complaint goes to, or None (the whole grid's queue)."""
    if premises is not None:
        return premises.cell_id
    if data.get("lon") is None:
        return None
    cell_id = locate(session, data["lon"], data["lat"])
    if cell_id is not None and not actor.is_admin and session.scalar(
            select(GridCell.id).where(GridCell.id == cell_id, cell_scope_clause(actor))) is None:
        raise Forbidden("That location is outside your cells.", code="location_out_of_scope")
    return cell_id


def _open_task(session, actor, complaint, premises, due):
    """Give the premises' cell staff a complaint_verification task due on `due` (the feedback
    due day: the answer needs the facts); the complaint is verifying."""
    task = create_task(session, actor, kind="complaint_verification", premises_id=premises.id,
                       due_date=due,
                       origin=f"complaint:{complaint.id}", note=f"投诉举报 / complaint #{complaint.id}")
    complaint.task_id = task.id
    complaint.status = "verifying"
    complaint.routed_at = utcnow()
    return task


def _claim(session, complaint, condition, code, message, **values):
    """Move a complaint only if `condition` still holds in the database (race-free)."""
    done = session.execute(update(Complaint).where(Complaint.id == complaint.id, *condition)
                           .values(updated_at=utcnow(), **values)
                           .execution_options(synchronize_session=False)).rowcount
    session.refresh(complaint)
    if done != 1:
        raise Conflict(message, code=code, details={"status": complaint.status})


def route(session, actor, complaint_id, *, premises_id=None, cell_id=None, feedback_days):
    """Route a complaint with no task yet: to a premises (opens the task) or to a cell."""
    require_role(actor, "supervisor")
    complaint = get_complaint(session, actor, complaint_id)
    if complaint.status != "received":
        raise Conflict(f"Complaint {complaint_id} is {complaint.status}; it was routed already.",
                       code="complaint_already_routed", details={"status": complaint.status})
    before = complaint_state(complaint)
    old_cell = complaint.cell_id
    if premises_id is not None:
        premises = get_premises(session, actor, premises_id)
        if premises.cell_id is None:
            raise ValidationFailed(f"Premises {premises_id} lies in no cell; fix its location first.",
                                   code="premises_not_in_cell",
                                   details={"premises_id": [premises_id]})
        target = {"premises_id": premises.id, "cell_id": premises.cell_id}
        # Before anything moves (a missing calendar refuses the routing); a real-name
        # complaint's task is due with its answer, an anonymous one's counts the same way.
        due = complaint.feedback_due or _due(session, complaint.received_at, feedback_days)
    else:
        cell = get_cell_in_scope(session, actor, cell_id)
        if session.get(GridMap, cell.map_id).status != "active":
            raise ValidationFailed(f"Cell {cell_id} is not on an active map.",
                                   code="cell_not_active", details={"cell_id": [cell_id]})
        target = {"cell_id": cell.id}
    _claim(session, complaint, [Complaint.status == "received"], "complaint_already_routed",
           f"Complaint {complaint_id} was routed meanwhile.", routed_at=utcnow(), **target)
    if premises_id is not None:
        _open_task(session, actor, complaint, premises, due)
        session.flush()
    feed.emit(session, "complaint", complaint.id, cell_id=complaint.cell_id, old_cell_id=old_cell)
    audit.record(session, actor, "complaint.route", "complaint", complaint.id, before=before,
                 after=complaint_state(complaint), details={"task_id": complaint.task_id})
    return complaint


def verify(session, actor, complaint_id, *, outcome, result):
    """Record what verification found (verified | unfounded); the task is done.

    By the task's assignees (field staff see only the complaints they verify) or by
    supervisors over the complaint's cell.
    """
    complaint = get_complaint(session, actor, complaint_id)
    before = complaint_state(complaint)
    _claim(session, complaint, [Complaint.status == "verifying"], "complaint_not_verifying",
           f"Complaint {complaint_id} is not being verified (no task, or verified already).",
           status=outcome, verification_result=result, verified_by_id=actor.id,
           verified_at=utcnow())
    task = complaint.task
    if task is not None and task.status == "open":
        task.status = "done"
        task.updated_at = utcnow()
        feed.emit(session, "task", task.id, cell_id=task.premises.cell_id)
        session.flush()
    feed.emit(session, "complaint", complaint.id, cell_id=complaint.cell_id)
    audit.record(session, actor, "complaint.verify", "complaint", complaint.id, before=before,
                 after=complaint_state(complaint), details={"outcome": outcome})
    return complaint


def give_feedback(session, actor, complaint_id, *, text):
    """Record the answer given to a real-name complainant, once, after verification."""
    require_role(actor, "supervisor")
    complaint = get_complaint(session, actor, complaint_id)
    if complaint.anonymous:
        raise Conflict("An anonymous complaint has nobody to answer.", code="anonymous_complaint")
    if complaint.feedback_at is not None:
        raise Conflict(f"Feedback on complaint {complaint_id} was already given.",
                       code="feedback_already_given", details={"status": complaint.status})
    if complaint.status not in VERIFICATION_OUTCOMES:
        raise Conflict(f"Complaint {complaint_id} is {complaint.status}: verify it before "
                       "answering the complainant.", code="complaint_not_verified",
                       details={"status": complaint.status})
    before = complaint_state(complaint)
    # Two answers at once: the database lets one through.
    _claim(session, complaint, [Complaint.feedback_at.is_(None)], "feedback_already_given",
           f"Feedback on complaint {complaint_id} was already given.",
           feedback_text=text, feedback_by_id=actor.id, feedback_at=utcnow())
    feed.emit(session, "complaint", complaint.id, cell_id=complaint.cell_id)
    audit.record(session, actor, "complaint.feedback", "complaint", complaint.id, before=before,
                 after=complaint_state(complaint))
    return complaint


def rederive_complaint_cells(session, actor=None):
    """Move the complaints whose cell is on a retired map onto the active maps; return how many.

    By their premises' (re-derived) cell, else by their location, else to the cell with the
    same code (routed by hand); none found: the whole grid's queue. Called on activation.
    """
    old_cell, old_map = aliased(GridCell), aliased(GridMap)
    stale = session.execute(
        select(Complaint, old_cell.code, old_map.jurisdiction_code)
        .join(old_cell, old_cell.id == Complaint.cell_id)
        .join(old_map, old_map.id == old_cell.map_id).where(old_map.status != "active")
        .order_by(Complaint.id)).all()
    for complaint, code, jurisdiction in stale:
        before = complaint.cell_id
        if complaint.premises_id is not None:
            complaint.cell_id = complaint.premises.cell_id
        elif complaint.location is not None:
            point = to_shape(complaint.location)
            complaint.cell_id = locate(session, point.x, point.y)
        else:
            complaint.cell_id = session.scalar(
                select(GridCell.id).join(GridMap, GridMap.id == GridCell.map_id)
                .where(GridMap.status == "active", GridMap.jurisdiction_code == jurisdiction,
                       GridCell.code == code))
        feed.emit(session, "complaint", complaint.id, cell_id=complaint.cell_id,
                  old_cell_id=before)
    session.flush()
    if stale:
        audit.record(session, actor, "complaint.rederive_cells", "complaint", "*",
                     details={"moved": len(stale)})
    return len(stale)
