"""`flask demo load` shows the follow-ups lifecycle: orders in each state, one overdue, and a
real-name complaint awaiting its answer with its verification task; loading again adds nothing."""

from datetime import UTC, date, datetime

import time_machine
from sqlalchemy import func, select

from server.models import (
    AuditEvent,
    Case,
    ChangeEvent,
    Complaint,
    Inspection,
    OrderMove,
    Penalty,
    PremisesMeasure,
    RectificationOrder,
    Task,
)

# Monday 16 Nov 2026, mid-morning UTC: the same day in every zone the servers run in.
NOW = datetime(2026, 11, 16, 2, 30, tzinfo=UTC)
TODAY = date(2026, 11, 16)
MODELS = (RectificationOrder, OrderMove, Inspection, Complaint, Task, AuditEvent, ChangeEvent,
          Case)


def counts(db_session):
    db_session.expire_all()
    return tuple(db_session.scalar(select(func.count()).select_from(model)) for model in MODELS)


def test_the_demo_shows_orders_in_each_state_and_a_complaint_awaiting_feedback(runner,
                                                                                db_session):
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Demo follow-ups created" in result.output
    orders = db_session.scalars(select(RectificationOrder).order_by(RectificationOrder.id)).all()
    assert [order.state for order in orders] == ["issued", "recheck_due", "passed", "failed",
                                                 "issued", "escalated"]
    # The passed and failed ones were moved by recheck inspections, as a terminal's are.
    rechecks = db_session.scalars(select(Inspection).where(Inspection.kind == "recheck")
                                  .order_by(Inspection.id)).all()
    assert [(r.recheck_of_order_id, r.conclusion) for r in rechecks] == [
        (orders[2].id, "compliant"), (orders[3].id, "rectification_required"),
        (orders[5].id, "rectification_required")]
    assert orders[2].moves[-1].details["recheck_inspection_id"] == rechecks[0].id
    assert [move.move for move in orders[2].moves] == ["report_rectified", "start_recheck",
                                                       "pass"]
    overdue = [order for order in orders if order.state == "issued" and order.deadline < TODAY]
    assert overdue == [orders[4]]
    assert orders[4].issued_on == date(2026, 10, 26) and orders[4].deadline == date(2026, 11, 9)
    assert orders[4].task.due_date == date(2026, 11, 9) and orders[4].task.status == "open"
    assert orders[0].deadline == date(2026, 11, 26)  # the others: due ahead, as issued
    # Rechecks still to do are open; decided ones are done.
    assert [order.task.status for order in orders] == ["open", "open", "done", "done", "open",
                                                       "done"]
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "demo.backdate_order")) == 1

    complaint = db_session.scalars(select(Complaint)).one()
    assert complaint.status == "verifying" and not complaint.anonymous
    assert complaint.feedback_at is None and complaint.complainant is not None
    # 15 working days from Mon 16 Nov 2026: Mon 7 Dec.
    assert complaint.feedback_due == date(2026, 12, 7)
    task = db_session.get(Task, complaint.task_id)
    assert task.kind == "complaint_verification" and task.status == "open"
    assert task.due_date == date(2026, 12, 7) and task.premises_id == complaint.premises_id

    penalty = db_session.scalars(select(Penalty)).one()
    assert (penalty.type, penalty.amount_fen, penalty.publication_state) == \
        ("suspension", 2000000, "pending")
    assert penalty.premises_id == orders[3].premises_id  # where the recheck failed
    # 7 working days from Mon 16 Nov 2026: Wed 25 Nov; the recheck 30 days on.
    assert (penalty.publication_due, penalty.recheck_due) == (date(2026, 11, 25),
                                                              date(2026, 12, 16))
    assert (penalty.recheck_task.kind, penalty.recheck_task.status) == \
        ("post_penalty_recheck", "open")
    # The premises where rechecks failed twice (the failed and the escalated order) and the
    # penalty's points passed 12 and 18: a 约谈 for each reason and a key-supervision proposal.
    measures = db_session.scalars(select(PremisesMeasure).order_by(PremisesMeasure.id)).all()
    assert sorted((m.kind, m.source, m.state, m.premises_id) for m in measures) == sorted([
        ("interview_warning", "repeated_failure", "open", penalty.premises_id),
        ("interview_warning", "points", "open", penalty.premises_id),
        ("key_supervision_proposal", "points", "open", penalty.premises_id)])


def test_loading_the_demo_again_adds_no_follow_ups(runner, db_session):
    with time_machine.travel(NOW, tick=False):
        assert runner.invoke(args=["demo", "load"]).exit_code == 0
    first = counts(db_session)
    # orders, moves (0+1+3+2+0+3), inspections (6 issuing, 3 rechecks), complaints
    assert first[:4] == (6, 9, 9, 1)
    assert first[-1] == 1  # the escalated order's case
    with time_machine.travel(datetime(2026, 11, 17, 2, 30, tzinfo=UTC), tick=False):
        again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "Demo follow-ups already there" in again.output
    assert counts(db_session) == first


def test_the_demo_escalated_order_has_its_case_at_investigation(runner, db_session):
    with time_machine.travel(NOW, tick=False):
        assert runner.invoke(args=["demo", "load"]).exit_code == 0
    case = db_session.scalars(select(Case)).one()
    order = db_session.scalars(select(RectificationOrder).where(
        RectificationOrder.state == "escalated")).one()
    assert (case.source_kind, case.source_id) == ("order", order.id)
    assert (case.stage, case.state, case.number) == ("investigation", "open",
                                                     "乌卫立〔2026〕第0001号")
    assert case.filed_on == TODAY
    assert [(row.stage, row.completed_on) for row in case.stages] == [
        ("filing", TODAY), ("investigation", None)]
