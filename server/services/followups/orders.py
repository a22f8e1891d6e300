"""Rectification orders (责令改正): issue from an inspection's non-compliant items, move by the table.

Issuing is idempotent by client UUID (like inspections). A move is one conditional UPDATE
(... WHERE id = :id AND state = :expected): of two moves from the same state, one wins and
the other is told the state it lost to.
"""

import uuid
from datetime import date
from types import SimpleNamespace

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import (
    Inspection,
    OrderMove,
    OrderMovePhoto,
    RectificationOrder,
    Task,
)
from server.models._types import utcnow
from server.services import audit
from server.services import changes as feed
from server.services.followups import measures, points
from server.services.followups.calendars import stored_calendar
from server.services.followups.case_sources import answered_complaint
from server.services.followups.deadlines import default_deadline
from server.services.followups.transitions import shipped_transitions
from server.services.idempotency import insert_once
from server.services.inspections import get_inspection
from server.services.paging import page
from server.services.scope import on_premises_in_scope
from server.services.tasks import cell_staff, task_state

# What each move takes besides its name: (required, optional). Anything else is refused.
MOVE_FIELDS = {
    "report_rectified": (("note",), ("photos",)),
    "start_recheck": ((), ("note",)),
    "pass": ((), ("note", "photos")),
    "fail": (("note",), ("photos",)),
    "reissue": ((), ("deadline", "measures", "note")),
    "escalate": (("reason",), ("note",)),
}


# The origin of an order's recheck task: "order:<id>".
ORDER_ORIGIN = "order:"


class IllegalMove(Conflict):
    code = "illegal_move"

    def __init__(self, state, allowed):
        super().__init__(f"The order is {state}; this move is not possible from there.",
                         details={"state": state, "allowed": allowed})


def content_digest(data):
    """Return the digest that tells a replay (same content) from a conflict (other content)."""
    return audit.digest({key: value for key, value in data.items() if key != "client_uuid"})


def issue_order(session, actor, data, *, rules, transitions=None, device_id=None):
    """Issue an order; return (order, "created" | "duplicate"). A recheck task is scheduled.

    data: client_uuid, inspection_id, findings (item codes), measures, deadline (optional),
    complaint_id (optional: the complaint about the same premises the order answers).
    """
    transitions = transitions or shipped_transitions()
    digest = content_digest(data)
    existing = session.scalar(select(RectificationOrder).where(
        RectificationOrder.client_uuid == data["client_uuid"]))
    if existing is not None:
        return _replayed(session, actor, existing, digest)
    _require(actor, transitions.issue_roles)
    inspection = get_inspection(session, actor, data["inspection_id"])
    newer = session.scalar(select(Inspection.id).where(Inspection.revision_of_id == inspection.id))
    if newer is not None:
        raise ValidationFailed(f"Inspection {inspection.id} was corrected by {newer}; issue the "
                               "order from the latest revision.", code="inspection_corrected",
                               details={"latest_id": newer})
    findings = _findings(inspection, data["findings"])
    premises = inspection.premises
    complaint_id = answered_complaint(session, actor, data.get("complaint_id"), premises)
    today = date.today()
    deadline, source = _deadline(session, data.get("deadline"), today, findings, premises, rules)
    order = RectificationOrder(
        client_uuid=data["client_uuid"], content_hash=digest, premises_id=premises.id,
        cell_id=premises.cell_id, inspection_id=inspection.id, findings=findings,
        measures=data["measures"], issued_on=today, deadline=deadline, deadline_source=source,
        state="issued", issued_by_id=actor.id, device_id=device_id, complaint_id=complaint_id)
    winner = insert_once(session, order, RectificationOrder)
    if winner is not None:  # the same UUID arrived at the same moment elsewhere and won
        return _replayed(session, actor, winner, digest)
    _opened(session, actor, order, premises, device_id=device_id,
            details={"complaint_id": complaint_id} if complaint_id else None)
    points.accrue_for_order(session, actor, order)  # bad-practice points (不良执业行为记分)
    return order, "created"


def _opened(session, actor, order, premises, *, device_id=None, details=None):
    """Schedule the order's recheck, tell the terminals and the audit trail."""
    order.task_id = schedule_recheck(session, actor, order, premises).id
    session.flush()
    feed.emit(session, "order", order.id, cell_id=premises.cell_id)
    audit.record(session, actor, "order.issue", "rectification_order", order.id,
                 after=order_state(order), device_id=device_id, details=details)


def schedule_recheck(session, actor, order, premises):
    """Create the rectification_recheck task due on the deadline, for the cell's staff on duty.

    Only field staff whose role may pass and fail a recheck (the transitions table: officers)
    get it: a recheck is law enforcement, and its outcome moves the order.
    """
    roles = tuple(role for role in shipped_transitions().recheck_roles()
                  if role in ("officer", "coordinator"))
    task = Task(kind="rectification_recheck", premises_id=premises.id, cell_id=premises.cell_id,
                due_date=order.deadline, status="open", origin=f"{ORDER_ORIGIN}{order.id}",
                note=f"整改复查 / recheck of rectification order {order.id}",
                created_by_id=actor.id,
                assignees=list(cell_staff(session, premises.cell, premises.category_code,
                                          roles=roles)))
    session.add(task)
    session.flush()
    feed.emit(session, "task", task.id, cell_id=premises.cell_id)
    audit.record(session, actor, "task.create", "task", task.id, after=task_state(task))
    return task


def _replayed(session, actor, existing, digest):
    if existing.content_hash == digest and existing.issued_by_id == actor.id:
        return existing, "duplicate"
    visible = session.scalar(orders_query(actor).where(RectificationOrder.id == existing.id))
    raise Conflict(f"Order {existing.client_uuid} was already issued with other content.",
                   code="uuid_conflict",
                   details={"current": {"id": existing.id, "state": existing.state}
                            if visible else None})


def _require(actor, roles):
    if actor.role not in roles:
        raise Forbidden(f"This action needs the role {' or '.join(roles)}.",
                        code="role_required", details={"roles": list(roles)})


def _findings(inspection, codes):
    """Return the findings as they stand: only the inspection's non-compliant items."""
    results = {result.item_code: result for result in inspection.items}
    codes = list(dict.fromkeys(codes))
    wrong = [code for code in codes
             if code not in results or results[code].result != "non_compliant"]
    if wrong:
        raise ValidationFailed("Findings must be items this inspection found non-compliant.",
                               code="findings_not_non_compliant",
                               details={"findings": wrong})
    items = {item.code: item for item in inspection.template.items}
    return [{"item_code": code, "text": items[code].text, "legal_basis": items[code].legal_basis,
             "severity": items[code].severity, "note": results[code].note} for code in codes]


def one_year_after(day):
    """Return the same date a year later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _deadline(session, explicit, today, findings, premises, rules):
    if explicit is None:
        severities = [SimpleNamespace(severity=finding["severity"]) for finding in findings]
        return default_deadline(today, severities, premises, rules=rules,
                                calendar=stored_calendar(session)), "rules"
    latest = one_year_after(today)
    if not today <= explicit <= latest:
        raise ValidationFailed("The deadline must be between today and a year from today.",
                               code="deadline_out_of_range",
                               details={"deadline": [f"between {today} and {latest}"],
                                        "earliest": today.isoformat(), "latest": latest.isoformat()})
    return explicit, "explicit"


def order_state(order):
    """Return the audited state of an order."""
    return {"client_uuid": order.client_uuid, "premises_id": order.premises_id,
            "inspection_id": order.inspection_id,
            "findings": [finding["item_code"] for finding in order.findings],
            "measures": order.measures, "deadline": order.deadline, "state": order.state,
            "reissue_of_id": order.reissue_of_id, "task_id": order.task_id}


def orders_query(actor):
    """Select the orders on premises in the actor's scope, with what their answer shows (the
    premises, the moves, the issuing inspection's photos) loaded per page, not per order."""
    return on_premises_in_scope(RectificationOrder, actor).options(
        selectinload(RectificationOrder.premises), selectinload(RectificationOrder.moves),
        selectinload(RectificationOrder.inspection).selectinload(Inspection.photos))


def list_orders(session, actor, *, state=None, premises_id=None, limit, offset=0, cursor=None):
    """Return a page of the orders in the actor's scope, filtered."""
    query = orders_query(actor)
    if state is not None:
        query = query.where(RectificationOrder.state == state)
    if premises_id is not None:
        query = query.where(RectificationOrder.premises_id == premises_id)
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def get_order(session, actor, order_id):
    """Return an order in scope, or raise NotFound."""
    order = session.scalar(orders_query(actor).where(RectificationOrder.id == order_id))
    if order is None:
        raise NotFound(f"Order {order_id} not found.")
    return order


def move_order(session, actor, order_id, data, *, rules, transitions=None, case_numbering=None,
               details=None):
    """Make one move of an order by the transitions table; return the order.

    An escalation opens the order's case (案件) in the same transaction (case_numbering:
    services/followups/cases.CaseNumbering, default numbering when None). details: facts the
    move carries besides its fields (a recheck's inspection id).

    409 illegal_move when the move is not one from the current state (also when another
    move won meanwhile); 403 when the actor's role may not make it; 422 for missing fields.
    """
    transitions = transitions or shipped_transitions()
    order = get_order(session, actor, order_id)
    move = transitions.find(order.state, data["move"])
    if move is None:
        raise IllegalMove(order.state, transitions.allowed(order.state, actor.role))
    _require(actor, move.roles)
    fields = _move_fields(move.name, data)
    reissue = None
    if move.name == "reissue":  # everything checked before anything changes
        today = date.today()
        deadline, source = _deadline(session, fields.get("deadline"), today, order.findings,
                                     order.premises, rules)
        reissue = {"deadline": deadline, "deadline_source": source, "issued_on": today}
    before = order_state(order)
    _advance(session, actor, order, move, transitions)
    step = OrderMove(order_id=order.id, move=move.name, from_state=move.source,
                     to_state=move.target, by_id=actor.id, at=utcnow(),
                     note=fields.get("note", ""), photos=fields.get("photos", []),
                     details=dict(details or {}))
    if move.name in ("pass", "fail"):
        _close_recheck_task(session, order)
    if move.name == "escalate":
        step.details = {"reason": fields["reason"]}
        from server.services.followups.cases import (
            open_case_for_escalation,  # imports us
        )
        open_case_for_escalation(session, actor, order, fields["reason"], numbering=case_numbering)
    if reissue is not None:
        successor = _reissue(session, actor, order, fields, reissue)
        step.details = {"reissued_as_id": successor.id}
    session.add(step)
    session.flush()
    if move.target == "failed":  # repeated failure opens an interview warning (约谈)
        measures.record_failure(session, actor, order)
    link_move_photos(session, step)
    session.expire(order, ["moves"])
    feed.emit(session, "order", order.id, cell_id=order.premises.cell_id)
    audit.record(session, actor, f"order.{move.name}", "rectification_order", order.id,
                 before=before, after=order_state(order),
                 details={"move": move.name, "from": move.source, "to": move.target,
                          **step.details})
    return order


def link_move_photos(session, step):
    """Index the photos a move names, so the order's scope may read them (services/photos)."""
    session.add_all(OrderMovePhoto(move_id=step.id, sha256=sha256)
                    for sha256 in dict.fromkeys(step.photos or []))
    session.flush()


def _move_fields(name, data):
    required, optional = MOVE_FIELDS[name]
    given = {key: value for key, value in data.items() if key != "move" and value is not None}
    problems = {key: ["required for this move"] for key in required
                if not (isinstance(given.get(key), str) and given[key].strip())}
    problems.update({key: [f"not taken by the move {name}"]
                     for key in given if key not in required + optional})
    if problems:
        raise ValidationFailed(f"The move {name} takes {list(required + optional)} "
                               f"(required: {list(required)}).", details=problems)
    return given


def _advance(session, actor, order, move, transitions):
    """Move the state only if it is still the expected one; else tell the state it lost to."""
    moved = session.execute(
        update(RectificationOrder)
        .where(RectificationOrder.id == order.id, RectificationOrder.state == move.source)
        .values(state=move.target, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    session.refresh(order, ["state", "updated_at"])
    if moved.rowcount != 1:
        raise IllegalMove(order.state, transitions.allowed(order.state, actor.role))


def _close_recheck_task(session, order):
    task = order.task
    if task is not None and task.status == "open":
        task.status = "done"
        task.updated_at = utcnow()
        session.flush()
        feed.emit(session, "task", task.id, cell_id=order.premises.cell_id)


def _reissue(session, actor, order, fields, reissue):
    """Issue the successor order: same findings, a new deadline, linked to the failed one."""
    successor = RectificationOrder(
        client_uuid=str(uuid.uuid4()), premises_id=order.premises_id,
        cell_id=order.premises.cell_id, inspection_id=order.inspection_id,
        findings=order.findings, measures=fields.get("measures") or order.measures,
        state="issued", reissue_of_id=order.id, issued_by_id=actor.id, **reissue)
    successor.content_hash = content_digest({"reissue_of_id": order.id})
    session.add(successor)
    session.flush()
    _opened(session, actor, successor, order.premises, details={"reissue_of": order.id})
    return successor
