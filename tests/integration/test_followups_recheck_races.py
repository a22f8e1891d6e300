"""Two rechecks of the same order at the same moment (PostgreSQL): exactly one wins.

Each inserts its inspection, closes the task and moves the order by conditional UPDATEs; the
second waits on the first's row locks, then finds the order moved and is refused
illegal_move, its inspection rolled back with it.
"""

import uuid
from datetime import date

import time_machine
from sqlalchemy import func, select

from server.models import AuditEvent, Inspection, OrderMove, RectificationOrder, User
from server.services.followups.deadlines import load_rules
from server.services.followups.orders import IllegalMove, issue_order
from server.services.inspections import submit_inspection
from tests.factories import inspection_data
from tests.integration.followups_scene import NOW, build_scene
from tests.integration.test_photo_races import blocked_or_done, in_background
from tests.live import concurrent_sessions


def prepare(session):
    """The follow-ups scene and an issued order (deadline given) with li on its recheck task."""
    scene = build_scene(session)
    issue_order(session, scene.li, {
        "client_uuid": str(uuid.uuid4()), "inspection_id": scene.inspection.id,
        "findings": ["MI-01"], "measures": "补办许可证",
        "deadline": date(2026, 3, 9)}, rules=load_rules())


def recheck(session, order, result):
    data = inspection_data(session, order.premises, kind="recheck", task_id=order.task_id,
                           conclusion="compliant" if result == "compliant"
                           else "rectification_required")
    data["items"] = [{"item_code": "MI-01", "result": result, "photos": [],
                      "note": "" if result == "compliant" else "仍未补办"}]
    return data


@time_machine.travel(NOW, tick=False)  # one day throughout, whatever the real date
def test_two_rechecks_of_one_order_at_once_cannot_both_win(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        li = one.scalar(select(User).where(User.username == "li"))
        order = one.scalar(select(RectificationOrder))
        submit_inspection(one, li, recheck(one, order, "compliant"))
        one.flush()  # rechecked, not committed: the first terminal's request is still going

        def fail_and_commit():
            try:
                theirs = other.get(RectificationOrder, order.id)
                submit_inspection(other, other.get(User, li.id),
                                  recheck(other, theirs, "non_compliant"))
                other.commit()
            except Exception:
                other.rollback()  # as the request would
                raise

        failing, outcome = in_background(fail_and_commit)
        blocked_or_done(observer, failing)  # the second waits on the first's row locks
        assert failing.is_alive(), outcome
        one.commit()
        failing.join(10)
        assert isinstance(outcome[0], IllegalMove), outcome
        assert outcome[0].details["state"] == "passed"
        observer.expire_all()
        assert observer.get(RectificationOrder, order.id).state == "passed"
        assert [(m.move, m.to_state) for m in observer.scalars(
            select(OrderMove).order_by(OrderMove.id))] == [("start_recheck", "recheck_due"),
                                                           ("pass", "passed")]
        # The loser's inspection went with its refusal: one recheck is stored.
        assert observer.scalar(select(func.count(Inspection.id)).where(
            Inspection.recheck_of_order_id == order.id)) == 1
        assert observer.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("order.%")).order_by(AuditEvent.id)).all() == \
            ["order.issue", "order.start_recheck", "order.pass"]
