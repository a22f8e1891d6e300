"""Measures on a premises (约谈, 暂缓校验, 重点监管名单建议): opened once per period by the
points (points.py) or by repeated recheck failure, then done when held.

Raised attention: a premises with an open measure (or one opened in the period the risk work
looks at) is under raised attention; `attention_of` is what that later work reads.
"""

from datetime import date, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.errors import Conflict, NotFound, ValidationFailed
from server.models import (
    OrderMove,
    PremisesMeasure,
    RectificationOrder,
)
from server.models._types import utcnow
from server.services import audit
from server.services import changes as feed
from server.services.paging import page
from server.services.scope import on_premises_in_scope, require_role


def insert_ignoring_conflict(session, model, values):
    """INSERT … ON CONFLICT DO NOTHING; return the new row's id, or None if it existed."""
    insert = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
              else sqlite_insert)
    return session.execute(insert(model).values(**values).on_conflict_do_nothing()
                           .returning(model.id)).scalar()


def measure_state(measure):
    """Return the audited state of a measure."""
    return {"premises_id": measure.premises_id, "kind": measure.kind, "source": measure.source,
            "period": measure.period, "state": measure.state, "held_on": measure.held_on,
            "outcome": measure.outcome}


def open_measure(session, actor, premises, *, kind, source, period, on, reason, details):
    """Open a measure on a premises unless one of that kind was opened for the period; return
    it, or None."""
    now = utcnow()
    added = insert_ignoring_conflict(session, PremisesMeasure, {
        "premises_id": premises.id, "cell_id": premises.cell_id, "kind": kind,
        "source": source, "period": period, "reason": reason, "details": details,
        "opened_on": on, "state": "open", "created_at": now, "updated_at": now})
    if added is None:
        return None
    measure = session.get(PremisesMeasure, added)
    feed.emit(session, "measure", added, cell_id=premises.cell_id)
    audit.record(session, actor, "measure.open", "premises_measure", added,
                 after=measure_state(measure), details=details)
    return measure


def record_failure(session, actor, order, *, rules=None):
    """After an order moved to failed: open the repeated-failure measure when the premises
    failed often enough within the window (one call from orders.py move_order).

    Failures counted by a measure are used up: the next one needs as many new failures.
    """
    from server.services.followups.points import configured_rules, lock_premises

    rules = rules or configured_rules()
    premises = order.premises
    lock_premises(session, premises.id)
    used = [measure.details.get("last_move_id", 0) for measure in session.scalars(
        select(PremisesMeasure).where(PremisesMeasure.premises_id == premises.id,
                                      PremisesMeasure.source == "repeated_failure"))]
    since = utcnow() - timedelta(days=rules.within_days)
    failures = session.execute(
        select(OrderMove.id, OrderMove.order_id)
        .join(RectificationOrder, RectificationOrder.id == OrderMove.order_id)
        .where(RectificationOrder.premises_id == premises.id, OrderMove.to_state == "failed",
               OrderMove.at >= since, OrderMove.id > max(used, default=0))
        .order_by(OrderMove.id)).all()
    if len(failures) < rules.failures:
        return None
    return open_measure(
        session, actor, premises, kind=rules.failure_opens, source="repeated_failure",
        period=f"failures:{failures[0].id}", on=date.today(),
        reason=f"{rules.within_days}天内{len(failures)}次复查不合格 / {len(failures)} failed "
               f"rechecks within {rules.within_days} days",
        details={"order_ids": sorted({row.order_id for row in failures}),
                 "move_ids": [row.id for row in failures], "last_move_id": failures[-1].id,
                 "within_days": rules.within_days})


def measures_query(actor):
    """Select the measures on premises in the actor's scope."""
    return on_premises_in_scope(PremisesMeasure, actor)


def list_measures(session, actor, *, kind=None, state=None, premises_id=None, limit, offset=0, cursor=None):
    """Return a page of the measures in the actor's scope, filtered."""
    query = measures_query(actor)
    if kind is not None:
        query = query.where(PremisesMeasure.kind == kind)
    if state is not None:
        query = query.where(PremisesMeasure.state == state)
    if premises_id is not None:
        query = query.where(PremisesMeasure.premises_id == premises_id)
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def get_measure(session, actor, measure_id):
    """Return a measure in scope, or raise NotFound."""
    measure = session.scalar(measures_query(actor).where(PremisesMeasure.id == measure_id))
    if measure is None:
        raise NotFound(f"Measure {measure_id} not found.")
    return measure


def mark_done(session, actor, measure_id, *, held_on, outcome):
    """Record that a measure was carried out (the interview held); once: 409 after."""
    measure = get_measure(session, actor, measure_id)
    require_role(actor, "supervisor")
    today = date.today()
    if not measure.opened_on <= held_on <= today:
        raise ValidationFailed("The day held must be between the day opened and today.",
                               code="held_on_out_of_range",
                               details={"held_on": [f"between {measure.opened_on} and {today}"]})
    before = measure_state(measure)
    done = session.execute(
        update(PremisesMeasure)
        .where(PremisesMeasure.id == measure.id, PremisesMeasure.state == "open")
        .values(state="done", held_on=held_on, outcome=outcome, done_by_id=actor.id,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    session.refresh(measure)
    if done.rowcount != 1:
        raise Conflict(f"Measure {measure.id} is already done.", code="measure_done",
                       details={"state": measure.state, "held_on": measure.held_on.isoformat()
                                if measure.held_on else None})
    feed.emit(session, "measure", measure.id, cell_id=measure.premises.cell_id)
    audit.record(session, actor, "measure.done", "premises_measure", measure.id,
                 before=before, after=measure_state(measure))
    return measure


def attention_of(session, premises_ids, *, since):
    """Return {premises id: {"open": n, "opened_since": n}}: the premises' raised attention,
    for the risk work (open measures, and measures opened on or after since)."""
    if not premises_ids:
        return {}
    rows = session.execute(
        select(PremisesMeasure.premises_id,
               func.sum(case((PremisesMeasure.state == "open", 1), else_=0)),
               func.sum(case((PremisesMeasure.opened_on >= since, 1), else_=0)))
        .where(PremisesMeasure.premises_id.in_(sorted(premises_ids)))
        .group_by(PremisesMeasure.premises_id)).all()
    return {premises_id: {"open": int(open_ or 0), "opened_since": int(recent or 0)}
            for premises_id, open_, recent in rows}
