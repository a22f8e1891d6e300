"""Administrative penalties (行政处罚): recorded by the office, each schedules its post-penalty
recheck (处罚后复查) and owes its publication (公示) 7 working days after the decision.

Recording is idempotent by client UUID; the decision number is unique (409). Publishing is one
conditional UPDATE (... WHERE publication_state = 'pending'): of two at once, one wins.
Penalties are not pulled by terminals: they see the recheck task, whose note names the decision.
"""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.errors import Conflict, NotFound, ValidationFailed
from server.models import Penalty, Task
from server.models._types import utcnow
from server.models.penalties import PENALTY_AMOUNTS, PENALTY_TYPES, PUBLICATION_STATES
from server.services import audit
from server.services import changes as feed
from server.services.followups import points as points_service
from server.services.followups.calendars import stored_calendar
from server.services.followups.workdays import add_working_days
from server.services.idempotency import insert_once
from server.services.paging import page
from server.services.premises import get_premises
from server.services.scope import on_premises_in_scope, require_role
from server.services.tasks import cell_staff, task_state

PUBLICATION_WORKING_DAYS = 7  # 行政处罚决定作出之日起7个工作日内公示
OLDEST_DECISION_DAYS = 365  # older decisions are history to import, not to record here


def content_digest(data):
    """Return the digest that tells a replay (same content) from a conflict (other content)."""
    return audit.digest({key: (str(value) if isinstance(value, Decimal) else value)
                         for key, value in data.items() if key != "client_uuid"})


def penalty_state(penalty):
    """Return the audited state of a penalty."""
    return {"client_uuid": penalty.client_uuid, "decision_number": penalty.decision_number,
            "decided_on": penalty.decided_on, "type": penalty.type,
            "amount_fen": penalty.amount_fen, "legal_basis": penalty.legal_basis,
            "premises_id": penalty.premises_id, "inspection_id": penalty.inspection_id,
            "case_id": penalty.case_id, "recheck_task_id": penalty.recheck_task_id,
            "recheck_due": penalty.recheck_due,
            "recheck_inspection_id": penalty.recheck_inspection_id,
            "publication_due": penalty.publication_due,
            "publication_state": penalty.publication_state, "published_on": penalty.published_on}


def record_penalty(session, actor, data, *, point_rules, recheck_days, today=None):
    """Record a penalty decision; return (penalty, "created" | "duplicate").

    data: client_uuid, decision_number, decided_on, type, amount (yuan, Decimal; by type),
    legal_basis, facts, premises_id, inspection_id, case_id. Schedules the post_penalty_recheck
    task recheck_days CALENDAR days after the decision and accrues the type's points.
    """
    digest = content_digest(data)
    existing = session.scalar(select(Penalty).where(Penalty.client_uuid == data["client_uuid"]))
    if existing is not None:
        return _replayed(session, actor, existing, digest)
    require_role(actor, "supervisor")
    premises = get_premises(session, actor, data["premises_id"])
    inspection_id = _inspection(session, actor, data.get("inspection_id"), premises)
    case_id = _case(session, actor, data.get("case_id"), premises)
    amount_fen = _amount_fen(data["type"], data.get("amount"))
    today = today or date.today()
    decided_on = data["decided_on"]
    oldest = today - timedelta(days=OLDEST_DECISION_DAYS)
    if not oldest <= decided_on <= today:
        raise ValidationFailed("The decision date must be between a year ago and today.",
                               code="decided_on_out_of_range",
                               details={"decided_on": [f"between {oldest} and {today}"]})
    _number_free(session, data["decision_number"])
    publication_due = add_working_days(decided_on, PUBLICATION_WORKING_DAYS,
                                       stored_calendar(session))
    penalty = Penalty(
        client_uuid=data["client_uuid"], content_hash=digest,
        decision_number=data["decision_number"], decided_on=decided_on, type=data["type"],
        amount_fen=amount_fen, legal_basis=data["legal_basis"].strip(),
        facts=data.get("facts") or "", premises_id=premises.id, cell_id=premises.cell_id,
        inspection_id=inspection_id, case_id=case_id,
        recheck_due=decided_on + timedelta(days=recheck_days), publication_due=publication_due,
        publication_state="pending", recorded_by_id=actor.id)
    try:
        winner = insert_once(session, penalty, Penalty)
    except IntegrityError:  # the same decision number was recorded at the same moment
        raise _number_taken(data["decision_number"]) from None
    if winner is not None:
        return _replayed(session, actor, winner, digest)
    penalty.recheck_task_id = _schedule_recheck(session, actor, penalty, premises).id
    session.flush()
    feed.emit(session, "penalty", penalty.id, cell_id=premises.cell_id)
    audit.record(session, actor, "penalty.record", "penalty", penalty.id,
                 after=penalty_state(penalty))
    points, rule = point_rules.penalty_points(penalty.type)
    points_service.accrue(session, actor, premises, source_kind="penalty", source_id=penalty.id,
                          points=points, rule=rule, rules=point_rules, on=decided_on)
    return penalty, "created"


def _case(session, actor, case_id, premises):
    """Return the id of the case (案件) the penalty ends: visible, about the same premises."""
    if case_id is None:
        return None
    from server.services.followups.cases import get_case

    case = get_case(session, actor, case_id)
    if case.premises_id != premises.id:
        raise ValidationFailed("The case is about another premises.", code="case_other_premises",
                               details={"case_id": ["about another premises"]})
    return case.id


def _replayed(session, actor, existing, digest):
    if existing.content_hash == digest and existing.recorded_by_id == actor.id:
        return existing, "duplicate"
    visible = session.scalar(penalties_query(actor).where(Penalty.id == existing.id))
    raise Conflict(f"Penalty {existing.client_uuid} was already recorded with other content.",
                   code="uuid_conflict",
                   details={"current": {"id": existing.id,
                                        "decision_number": existing.decision_number}
                            if visible else None})


def _inspection(session, actor, inspection_id, premises):
    """Return the id of the inspection the penalty came from: visible, on the same premises."""
    if inspection_id is None:
        return None
    from server.services.inspections import get_inspection  # inspections calls back here

    inspection = get_inspection(session, actor, inspection_id)
    if inspection.premises_id != premises.id:
        raise ValidationFailed("The inspection is of another premises.",
                               code="inspection_other_premises",
                               details={"inspection_id": ["of another premises"]})
    return inspection.id


def _amount_fen(penalty_type, amount):
    """Return the amount in fen as the type requires it (a fine needs one, a warning none)."""
    need = PENALTY_AMOUNTS[penalty_type]
    if amount is None and need == "required":
        raise ValidationFailed(f"A penalty of type {penalty_type} needs an amount.",
                               code="amount_required", details={"amount": ["required"]})
    if amount is not None and need == "refused":
        raise ValidationFailed(f"A penalty of type {penalty_type} takes no amount.",
                               code="amount_refused", details={"amount": ["not taken"]})
    return None if amount is None else int(amount * 100)


def _number_taken(number):
    return Conflict(f"The decision number {number} is already recorded.",
                    code="decision_number_taken", details={"decision_number": number})


def _number_free(session, number):
    if session.scalar(select(Penalty.id).where(Penalty.decision_number == number)) is not None:
        raise _number_taken(number)


def _schedule_recheck(session, actor, penalty, premises):
    """Create the post_penalty_recheck task for the cell's officers on duty (a recheck is law
    enforcement, as for orders' rechecks)."""
    task = Task(kind="post_penalty_recheck", premises_id=premises.id, cell_id=premises.cell_id,
                due_date=penalty.recheck_due, status="open", origin=f"penalty:{penalty.id}",
                note=f"处罚后复查 / post-penalty recheck: {penalty.decision_number}",
                created_by_id=actor.id,
                assignees=list(cell_staff(session, premises.cell, premises.category_code,
                                          roles=("officer",))))
    session.add(task)
    session.flush()
    feed.emit(session, "task", task.id, cell_id=premises.cell_id)
    audit.record(session, actor, "task.create", "task", task.id, after=task_state(task))
    return task


def recheck_inspected(session, actor, task, inspection):
    """Link the inspection that completed a penalty's recheck task to the penalty."""
    penalty = session.scalar(select(Penalty).where(Penalty.recheck_task_id == task.id))
    if penalty is None or penalty.recheck_inspection_id is not None:
        return
    before = penalty_state(penalty)
    penalty.recheck_inspection_id = inspection.id
    penalty.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "penalty.recheck", "penalty", penalty.id, before=before,
                 after=penalty_state(penalty))


def penalties_query(actor):
    """Select the penalties on premises in the actor's scope."""
    return on_premises_in_scope(Penalty, actor)


def list_penalties(session, actor, *, publication_state=None, premises_id=None, type=None,
                   limit, offset=0, cursor=None):
    """Return a page of the penalties in the actor's scope, filtered."""
    query = penalties_query(actor)
    if publication_state is not None:
        query = query.where(Penalty.publication_state == publication_state)
    if premises_id is not None:
        query = query.where(Penalty.premises_id == premises_id)
    if type is not None:
        query = query.where(Penalty.type == type)
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def get_penalty(session, actor, penalty_id):
    """Return a penalty in scope, or raise NotFound."""
    penalty = session.scalar(penalties_query(actor).where(Penalty.id == penalty_id))
    if penalty is None:
        raise NotFound(f"Penalty {penalty_id} not found.")
    return penalty


def publish(session, actor, penalty_id, *, published_on, where):
    """Record that a penalty was published (公示), once: 409 already_published after."""
    penalty = get_penalty(session, actor, penalty_id)
    require_role(actor, "supervisor")
    today = date.today()
    if not penalty.decided_on <= published_on <= today:
        raise ValidationFailed("The publication date must be between the decision and today.",
                               code="published_on_out_of_range",
                               details={"published_on": [f"between {penalty.decided_on} and "
                                                         f"{today}"]})
    before = penalty_state(penalty)
    done = session.execute(
        update(Penalty).where(Penalty.id == penalty.id, Penalty.publication_state == "pending")
        .values(publication_state="published", published_on=published_on,
                published_where=where, published_by_id=actor.id, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    session.refresh(penalty)
    if done.rowcount != 1:
        raise Conflict(f"Penalty {penalty.id} was already published.", code="already_published",
                       details={"published_on": penalty.published_on.isoformat()})
    feed.emit(session, "penalty", penalty.id, cell_id=penalty.premises.cell_id)
    audit.record(session, actor, "penalty.publish", "penalty", penalty.id, before=before,
                 after=penalty_state(penalty))
    return penalty


def issue_decision_document(session, actor, penalty_id, *, office):
    """Issue the penalty decision (行政处罚决定书) once; return (document, outcome)."""
    from server.services.followups import documents  # documents reads penalties back

    penalty = get_penalty(session, actor, penalty_id)
    require_role(actor, "supervisor")
    return documents.issue_document(session, actor, "penalty_decision", penalty, office=office)


def amount_text(amount_fen):
    """Render an amount in fen as yuan, e.g. 5000.00."""
    return None if amount_fen is None else f"{amount_fen // 100}.{amount_fen % 100:02d}"


def document_content(penalty):
    """Return the paragraphs of the penalty decision (行政处罚决定书) for document_pdf."""
    amount = amount_text(penalty.amount_fen)
    paragraphs = [("处罚决定书文号：", penalty.decision_number),
                  ("处罚决定日期：", f"{penalty.decided_on:%Y年%m月%d日}"),
                  ("处罚种类：", PENALTY_TYPES[penalty.type][0])]
    if amount is not None:
        paragraphs.append(("金额：", f"人民币{amount}元"))
    if penalty.facts:
        paragraphs.append(("违法事实：", penalty.facts))
    paragraphs.append(("处罚依据：", penalty.legal_basis))
    return paragraphs


def public_state_label(penalty):
    """The state the public verification page shows: published or not."""
    return PUBLICATION_STATES[penalty.publication_state]
