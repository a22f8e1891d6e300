"""Demo follow-ups: rectification orders in each state, a complaint awaiting its answer, the
case (案件) the escalated order opened, at 调查取证, and a penalty with its recheck scheduled and
its publication pending, whose points opened an interview warning (约谈) on the premises.

Built through the services (inspections, orders, complaints) at the real current date, once:
the first demo order's client UUID marks them loaded, so running the demo again adds nothing.
"""

import uuid
from datetime import date, timedelta
from decimal import Decimal

from geoalchemy2.shape import to_shape
from sqlalchemy import select

from server.models import Case, Premises, RectificationOrder
from server.models._types import utcnow
from server.services import audit
from server.services import changes as feed
from server.services.checklists import applicable_items, current_templates
from server.services.followups import complaints
from server.services.followups.cases import advance
from server.services.followups.deadlines import load_rules
from server.services.followups.orders import issue_order, move_order, order_state
from server.services.followups.penalties import record_penalty
from server.services.followups.points import configured_rules
from server.services.followups.workdays import CalendarMissing
from server.services.inspections import submit_inspection
from server.services.users import find_user

NAMESPACE = uuid.UUID("6f1c2a52-0d8e-4c55-9a3e-2f0d5e7d0c11")
COMPLAINT_CONTENT = "（示例）诊所收费不明码标价，医生疑似无执业证书"
# licence of the demo premises, the moves after issuing, the order's end state.
DEMO_ORDERS = [
    ("DEMO-PDY-0001", (), "issued"),
    ("DEMO-PDY-0002", ("start_recheck",), "recheck_due"),
    # "recheck:…": a recheck inspection of the order's findings moves it (start_recheck, then
    # pass or fail), as a terminal's recheck does.
    ("DEMO-PDY-0003", ("report_rectified", "recheck:pass"), "passed"),
    ("DEMO-GGCS-0004", ("recheck:fail",), "failed"),
    ("DEMO-PDY-0001", (), "overdue"),  # issued, its deadline already past (see _backdate)
    # Escalated by the supervisor: the escalation opens the case, moved on to 调查取证.
    ("DEMO-GGCS-0004", ("recheck:fail", "escalate"), "escalated"),
]
MOVE_NOTES = {"report_rectified": "（示例）已更换执业许可证并公示", "fail": "（示例）复查仍未整改"}
ESCALATION_REASON = "（示例）两次复查仍未整改，移交立案"


def demo_uuid(name):
    return str(uuid.uuid5(NAMESPACE, name))


def load_demo_followups(session, rules=None, case_numbering=None):
    """Add the demo orders and complaint once; return what was done ("created", "present",
    or the reason they were skipped)."""
    if session.scalar(select(RectificationOrder.id).where(
            RectificationOrder.client_uuid == demo_uuid("order-0"))) is not None:
        return "present"
    try:
        with session.begin_nested():  # all or nothing
            _load(session, rules or load_rules(), case_numbering)
    except CalendarMissing as missing:  # the complaint's due day needs this year's calendar
        return f"skipped: {missing.message}"
    return "created"


def _load(session, rules, case_numbering):
    officer, supervisor = find_user(session, "li.officer"), find_user(session, "wuhai.supervisor")
    today = date.today()
    inspections = []
    for index, (licence, moves, state) in enumerate(DEMO_ORDERS):
        premises = session.scalar(select(Premises).where(Premises.licence_no == licence))
        inspection = _inspection(session, officer, premises, f"inspection-{index}")
        inspections.append(inspection)
        order, _ = issue_order(session, officer, {
            "client_uuid": demo_uuid(f"order-{index}"), "inspection_id": inspection.id,
            "findings": [_finding(inspection)],
            "measures": "（示例）限期整改，整改后报告复查", "deadline": today + timedelta(days=10 + index)},
            rules=rules)
        for move in moves:
            if move.startswith("recheck:"):
                _recheck(session, officer, order, move.split(":")[1], f"recheck-{index}")
                continue
            note = MOVE_NOTES.get(move)
            if move == "escalate":
                move_order(session, supervisor, order.id,
                           {"move": move, "reason": ESCALATION_REASON},
                           rules=rules, case_numbering=case_numbering)
                continue
            move_order(session, officer, order.id, {"move": move, **({"note": note} if note else {})},
                       rules=rules)
        if state == "overdue":
            _backdate(session, order, today)
        if state == "escalated":
            case = session.scalar(select(Case).where(Case.source_kind == "order",
                                                     Case.source_id == order.id))
            advance(session, supervisor, case.id,
                    {"stage": "investigation", "note": "（示例）已批准立案"})
    clinic = session.scalar(select(Premises).where(Premises.licence_no == "DEMO-PDY-0003"))
    complaints.intake(session, supervisor, {
        "channel": "hotline_12345", "category_code": "medical_service_quality",
        "content": COMPLAINT_CONTENT, "premises_id": clinic.id, "anonymous": False,
        "complainant": {"name": "（示例）刘女士", "phone": "13800000000"}},
        feedback_days=15)
    _penalty(session, supervisor, inspections[3], today)


def _penalty(session, supervisor, inspection, today):
    """Suspend the premises whose recheck failed: 12 points open an interview warning."""
    record_penalty(session, supervisor, {
        "client_uuid": demo_uuid("penalty-0"), "decision_number": f"乌卫罚〔{today.year}〕示例1号",
        "decided_on": today, "type": "suspension", "amount": Decimal(20000),
        "legal_basis": "（示例）《公共场所卫生管理条例》第十四条",
        "facts": "（示例）复查仍未整改，责令停业整顿并处罚款", "premises_id": inspection.premises_id,
        "inspection_id": inspection.id}, point_rules=configured_rules(), recheck_days=30)


def _inspection(session, officer, premises, name):
    """Submit a patrol inspection of the premises with its first checklist item non-compliant."""
    template = current_templates(session, premises.category_code)[0]
    items = [{"item_code": item.code, "result": "compliant", "note": "", "photos": []}
             for item in applicable_items(template, premises.category_code)]
    items[0].update(result="non_compliant", note="（示例）现场发现问题")
    point = to_shape(premises.location)
    inspection, _ = submit_inspection(session, officer, {
        "client_uuid": demo_uuid(name), "kind": "patrol", "task_id": None,
        "premises_id": premises.id, "template_id": template.id, "device_time": utcnow(),
        "gps": {"lon": point.x, "lat": point.y, "accuracy_m": 8.0}, "items": items,
        "photos": [], "findings": "（示例）存在需整改问题", "conclusion": "rectification_required"})
    return inspection


def _recheck(session, officer, order, outcome, name):
    """Submit the recheck inspection of an order's findings: all rectified, or not."""
    inspection = order.inspection
    point = to_shape(inspection.premises.location)
    passed = outcome == "pass"
    submit_inspection(session, officer, {
        "client_uuid": demo_uuid(name), "kind": "recheck", "task_id": order.task_id,
        "premises_id": inspection.premises_id, "template_id": inspection.template_id,
        "device_time": utcnow(), "gps": {"lon": point.x, "lat": point.y, "accuracy_m": 6.0},
        "items": [{"item_code": finding["item_code"],
                   "result": "compliant" if passed else "non_compliant",
                   "note": "" if passed else "（示例）复查时仍未整改", "photos": []}
                  for finding in order.findings],
        "photos": [], "findings": "（示例）复查" + ("已整改" if passed else "仍未整改"),
        "conclusion": "compliant" if passed else "rectification_required"})


def _finding(inspection):
    return next(item.item_code for item in inspection.items if item.result == "non_compliant")


def _backdate(session, order, today):
    """Make a demo order overdue: issued three weeks ago, due a week ago.

    The service refuses a deadline in the past (rightly), and the demo runs at the real date,
    so the demo moves the issued order's dates back on the row — recorded in the audit trail
    as a demo action and sent to the terminals like any change.
    """
    before = order_state(order)
    order.issued_on = today - timedelta(days=21)
    order.deadline = today - timedelta(days=7)
    order.task.due_date = order.deadline
    order.updated_at = utcnow()
    session.flush()
    feed.emit(session, "order", order.id, cell_id=order.cell_id)
    feed.emit(session, "task", order.task_id, cell_id=order.cell_id)
    audit.record(session, None, "demo.backdate_order", "rectification_order", order.id,
                 before=before, after=order_state(order),
                 details={"why": "demo data: an overdue order to show"})
