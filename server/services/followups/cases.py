"""Cases (案件): open from an escalated order, a verified complaint or an inspection; move
through the stages of server/followups/case_stages.json; transfer; close.

Numbers come from the documents' counter (office, year, prefix) under its row lock, so every
opening of a year queues there: the checks for a replayed UUID and for an open case of the same
source are made again under that lock, and a number taken for nothing is given back. Moves are
conditional UPDATEs (... WHERE stage = :expected): of two at once, one wins.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select, update
from sqlalchemy.orm import selectinload

from server.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import Case, CaseStage, CaseTransfer, User
from server.models._types import utcnow
from server.services import audit
from server.services import changes as feed
from server.services.followups.calendars import stored_calendar
from server.services.followups.case_sources import resolve_source
from server.services.followups.case_stages import due_on, load_stages
from server.services.followups.documents import (
    format_number,
    give_back_serial,
    next_serial,
)
from server.services.idempotency import insert_once
from server.services.paging import page
from server.services.scope import on_premises_in_scope

HANDLER_ROLES = ("admin", "supervisor", "officer")
NAMESPACE = uuid.UUID("0c7d6f0e-3b1a-4f57-8a52-7c2b9a1e4d30")


@dataclass(frozen=True)
class CaseNumbering:
    """Where case numbers come from: the office code and the case prefix (config)."""

    office_code: str = "office"
    prefix: str = "乌卫立"

    @classmethod
    def from_config(cls, config):
        return cls(office_code=config["DOCUMENT_OFFICE_CODE"], prefix=config["CASE_NUMBER_PREFIX"])


class IllegalStage(Conflict):
    code = "illegal_stage"

    def __init__(self, case, allowed):
        super().__init__(f"The case is {case.state} at stage {case.stage}; this move is not "
                         f"possible from there (allowed: {allowed or 'none'}).",
                         details={"stage": case.stage, "state": case.state, "allowed": allowed})


def _require(actor, roles):
    if actor.role not in roles:
        raise Forbidden(f"This action needs the role {' or '.join(roles)}.",
                        code="role_required", details={"roles": list(roles)})


def case_state(case):
    """Return the audited state of a case."""
    return {"client_uuid": case.client_uuid, "number": case.number,
            "premises_id": case.premises_id, "source_kind": case.source_kind,
            "source_id": case.source_id, "title": case.title, "stage": case.stage,
            "state": case.state, "filed_on": case.filed_on, "closed_on": case.closed_on,
            "decision_summary": case.decision_summary,
            "handler_ids": sorted(user.id for user in case.handlers)}


def cases_query(actor):
    """Select the cases on premises in the actor's scope, with what their answer shows loaded
    per page, not per case."""
    return on_premises_in_scope(Case, actor).options(
        selectinload(Case.premises), selectinload(Case.handlers), selectinload(Case.stages),
        selectinload(Case.transfers), selectinload(Case.penalties))


def get_case(session, actor, case_id):
    """Return a case in scope, or raise NotFound."""
    case = session.scalar(cases_query(actor).where(Case.id == case_id))
    if case is None:
        raise NotFound(f"Case {case_id} not found.")
    return case


def list_cases(session, actor, *, state=None, stage=None, premises_id=None, overdue=False,
               limit, offset=0, cursor=None):
    """Return a page of the cases in scope; overdue: open with the current stage past due."""
    query = cases_query(actor)
    if state is not None:
        query = query.where(Case.state == state)
    if stage is not None:
        query = query.where(Case.stage == stage)
    if premises_id is not None:
        query = query.where(Case.premises_id == premises_id)
    if overdue:
        query = query.where(Case.state == "open", exists().where(
            CaseStage.case_id == Case.id, CaseStage.completed_on.is_(None),
            CaseStage.due_on < date.today()))
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def content_digest(data):
    return audit.digest({key: value for key, value in data.items() if key != "client_uuid"})


def open_case(session, actor, data, *, numbering, stages=None):
    """Open a case from a source in scope; return (case, "created" | "duplicate").

    data: client_uuid, source {kind, id}, title, summary, handler_ids (default: the opener).
    """
    stages = stages or load_stages()
    digest = content_digest(data)
    existing = _by_uuid(session, data["client_uuid"])
    if existing is not None:
        return _replayed(session, actor, existing, digest)
    _require(actor, stages.open_roles)
    kind, source_id = data["source"]["kind"], data["source"]["id"]
    premises = resolve_source(session, actor, kind, source_id)
    _refuse_second(session, actor, kind, source_id)
    handlers = _handlers(session, data.get("handler_ids") or [actor.id])
    return _open(session, actor, stages, numbering, client_uuid=data["client_uuid"],
                 digest=digest, premises=premises, kind=kind, source_id=source_id,
                 title=data["title"], summary=data.get("summary") or "", handlers=handlers)


def open_case_for_escalation(session, actor, order, reason, *, numbering=None, stages=None):
    """Open the case of an order just escalated (移交立案), in the same transaction.

    Its handlers: the escalating user and the order's issuer (if still an active enforcer).
    """
    stages = stages or load_stages()
    numbering = numbering or CaseNumbering()
    issuer = session.get(User, order.issued_by_id)
    handlers = [actor] + ([issuer] if issuer is not None and issuer.active and issuer.id != actor.id
                          and issuer.role in HANDLER_ROLES else [])
    client_uuid = str(uuid.uuid5(NAMESPACE, f"order:{order.id}"))
    _refuse_second(session, actor, "order", order.id)
    case, _ = _open(session, actor, stages, numbering, client_uuid=client_uuid,
                    digest=content_digest({"source": {"kind": "order", "id": order.id}}),
                    premises=order.premises, kind="order", source_id=order.id,
                    title=f"整改逾期移交立案 / escalated order {order.id}", summary=reason,
                    handlers=sorted(handlers, key=lambda user: user.id))
    return case


def _by_uuid(session, client_uuid):
    return session.scalar(select(Case).where(Case.client_uuid == client_uuid))


def _open_case_of(session, kind, source_id):
    return session.scalar(select(Case).where(Case.source_kind == kind, Case.source_id == source_id,
                                             Case.state != "closed"))


def _refuse_second(session, actor, kind, source_id):
    existing = _open_case_of(session, kind, source_id)
    if existing is not None:
        visible = session.scalar(cases_query(actor).where(Case.id == existing.id)) is not None
        raise Conflict(f"The {kind} {source_id} already has an open case.", code="case_exists",
                       details={"case": {"id": existing.id, "number": existing.number,
                                         "state": existing.state} if visible else None})


def _replayed(session, actor, existing, digest):
    if existing.content_hash == digest and existing.opened_by_id == actor.id:
        return existing, "duplicate"
    visible = session.scalar(cases_query(actor).where(Case.id == existing.id)) is not None
    raise Conflict(f"Case {existing.client_uuid} was already opened with other content.",
                   code="uuid_conflict",
                   details={"current": {"id": existing.id, "state": existing.state}
                            if visible else None})


def _handlers(session, ids):
    ids = sorted(set(ids))
    users = {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}
    wrong = [user_id for user_id in ids if user_id not in users or not users[user_id].active
             or users[user_id].role not in HANDLER_ROLES]
    if wrong:
        raise ValidationFailed("Handlers must be active officers, supervisors or admins.",
                               code="handler_invalid", details={"handler_ids": wrong})
    return [users[user_id] for user_id in ids]


def _open(session, actor, stages, numbering, *, client_uuid, digest, premises, kind, source_id,
          title, summary, handlers):
    today = date.today()
    first = stages.first
    # Counted before a number is taken: a year without a calendar refuses the opening.
    due = due_on(first, entered_on=today, filed_on=None, calendar=stored_calendar(session))
    serial = next_serial(session, numbering.office_code, today.year, numbering.prefix)
    # Every opening of the year waits on that lock: one that committed meanwhile shows now.
    raced = _by_uuid(session, client_uuid)
    if raced is not None or _open_case_of(session, kind, source_id) is not None:
        _give_back(session, numbering, today.year)
        if raced is not None:
            return _replayed(session, actor, raced, digest)
        _refuse_second(session, actor, kind, source_id)
    case = Case(client_uuid=client_uuid, content_hash=digest,
                number=format_number(numbering.prefix, today.year, serial),
                premises_id=premises.id, cell_id=premises.cell_id, source_kind=kind,
                source_id=source_id, title=title, summary=summary, stage=first.name,
                state="open", opened_by_id=actor.id, opened_on=today, created_at=utcnow(),
                updated_at=utcnow())
    winner = insert_once(session, case, Case)
    if winner is not None:
        _give_back(session, numbering, today.year)
        return _replayed(session, actor, winner, digest)
    case.handlers = handlers
    session.add(CaseStage(case_id=case.id, stage=first.name, entered_on=today, due_on=due,
                          entered_by_id=actor.id, note="", details={}))
    session.flush()
    feed.emit(session, "case", case.id, cell_id=premises.cell_id)
    audit.record(session, actor, "case.open", "case", case.id, after=case_state(case),
                 details={"source": {"kind": kind, "id": source_id}})
    return case, "created"


def _give_back(session, numbering, year):
    give_back_serial(session, numbering.office_code, year, numbering.prefix)


def current_stage(session, case):
    """Return the case's stage row not completed yet (None once closed)."""
    return session.scalar(select(CaseStage).where(CaseStage.case_id == case.id,
                                                  CaseStage.completed_on.is_(None))
                          .order_by(CaseStage.id.desc()).limit(1))


def _allowed(case, stages, role):
    if case.state == "closed":
        return []
    allowed = stages.allowed(case.stage, role)
    if role in stages.close_roles and _closable(case, stages):
        allowed.append("close")
    return allowed


def _closable(case, stages):
    return case.state == "transferred" or (case.state == "open"
                                           and case.stage == stages.last.name)


def _claim(session, case, stages, actor, condition, **values):
    """Change the case only if `condition` still holds in the database; else IllegalStage."""
    done = session.execute(update(Case).where(Case.id == case.id, *condition)
                           .values(updated_at=utcnow(), **values)
                           .execution_options(synchronize_session=False)).rowcount
    session.refresh(case)
    if done != 1:
        raise IllegalStage(case, _allowed(case, stages, actor.role))


def advance(session, actor, case_id, data, *, stages=None):
    """Move a case into the next stage, completing the current one; return the case.

    Only the next stage: anything else is 409 illegal_stage naming the stage and the moves
    allowed. Leaving a stage with complete_fields (决定) requires them (decision summary).
    """
    stages = stages or load_stages()
    case = get_case(session, actor, case_id)
    following = stages.next_of(case.stage)
    if case.state == "closed" or following is None or following.name != data["stage"]:
        raise IllegalStage(case, _allowed(case, stages, actor.role))
    _require(actor, following.enter_roles)
    current = stages.by_name[case.stage]
    decision = (data.get("decision") or "").strip()
    if "decision" in current.complete_fields and not decision:
        raise ValidationFailed(f"Completing the stage {current.name} takes the decision.",
                               details={"decision": ["required to complete this stage"]})
    if decision and "decision" not in current.complete_fields:
        raise ValidationFailed(f"The stage {current.name} takes no decision.",
                               details={"decision": ["not taken by this stage"]})
    today = date.today()
    filed_on = case.filed_on or (today if current.name == stages.first.name else None)
    due = due_on(following, entered_on=today, filed_on=filed_on,
                 calendar=stored_calendar(session))
    before = case_state(case)
    values = {"stage": following.name, "filed_on": filed_on}
    if decision:
        values["decision_summary"] = decision
    _claim(session, case, stages, actor, [Case.stage == current.name, Case.state != "closed"],
           **values)
    row = current_stage(session, case)
    row.completed_on, row.completed_by_id = today, actor.id
    row.note = data.get("note") or ""
    row.details = {"decision": decision} if decision else {}
    session.add(CaseStage(case_id=case.id, stage=following.name, entered_on=today, due_on=due,
                          entered_by_id=actor.id, note="", details={}))
    session.flush()
    session.expire(case, ["stages"])
    return _changed(session, actor, case, "case.advance", before,
                    {"from": current.name, "to": following.name})


def transfer(session, actor, case_id, data, *, stages=None):
    """Hand an open case to the police or another authority; it is transferred.

    Its stages may still be advanced (measures the transfer does not stop) and it may be
    closed from any stage; its time limits no longer run (not overdue, not swept).
    """
    stages = stages or load_stages()
    case = get_case(session, actor, case_id)
    _require(actor, stages.transfer_roles)
    today = date.today()
    on = data.get("transferred_on") or today
    if not case.opened_on <= on <= today:
        raise ValidationFailed("The transfer date must lie between the opening and today.",
                               code="transfer_date_out_of_range",
                               details={"transferred_on": [f"between {case.opened_on} and {today}"]})
    if case.state != "open":
        raise IllegalStage(case, _allowed(case, stages, actor.role))
    before = case_state(case)
    _claim(session, case, stages, actor, [Case.state == "open"], state="transferred")
    record = CaseTransfer(case_id=case.id, kind=data["kind"], transferred_on=on,
                          receiving_body=data["receiving_body"],
                          reference=data.get("reference") or "", reason=data["reason"],
                          by_id=actor.id, at=utcnow())
    session.add(record)
    session.flush()
    session.expire(case, ["transfers"])
    return _changed(session, actor, case, "case.transfer", before,
                    {"kind": record.kind, "receiving_body": record.receiving_body,
                     "reference": record.reference, "transferred_on": on.isoformat()})


def close(session, actor, case_id, data, *, stages=None):
    """Close a case at its last stage (a transferred one at any stage); return it."""
    stages = stages or load_stages()
    case = get_case(session, actor, case_id)
    if not _closable(case, stages):
        raise IllegalStage(case, _allowed(case, stages, actor.role))
    _require(actor, stages.close_roles)
    today = date.today()
    before = case_state(case)
    _claim(session, case, stages, actor, [Case.stage == case.stage, Case.state == case.state],
           state="closed", closed_on=today)
    row = current_stage(session, case)
    if row is not None:
        row.completed_on, row.completed_by_id = today, actor.id
        row.note = data.get("note") or ""
    session.flush()
    session.expire(case, ["stages"])
    return _changed(session, actor, case, "case.close", before, {"stage": case.stage})


def _changed(session, actor, case, action, before, details):
    feed.emit(session, "case", case.id, cell_id=case.premises.cell_id)
    audit.record(session, actor, action, "case", case.id, before=before,
                 after=case_state(case), details=details)
    return case
