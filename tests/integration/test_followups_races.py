"""Two terminals moving the same order at the same moment (PostgreSQL): one wins, one is told.

The move is a conditional UPDATE ... WHERE state = :expected; the second waits on the first's
row lock, then finds the state changed and answers illegal_move naming the state it lost to.
"""

import uuid
from datetime import date

import time_machine
from sqlalchemy import select

from server.models import AuditEvent, Inspection, OrderMove, RectificationOrder, User
from server.services.followups.deadlines import load_rules
from server.services.followups.orders import IllegalMove, issue_order, move_order
from tests.integration.followups_scene import NOW, build_scene
from tests.integration.test_photo_races import blocked_or_done, in_background
from tests.live import concurrent_sessions


def prepare(session):
    """The follow-ups scene and an order waiting for its recheck (deadline given)."""
    scene = build_scene(session)
    order, _ = issue_order(session, scene.li, {
        "client_uuid": str(uuid.uuid4()), "inspection_id": scene.inspection.id,
        "findings": ["MI-01"], "measures": "补办许可证",
        "deadline": date(2026, 3, 9)}, rules=load_rules())
    order.state = "recheck_due"
    session.flush()


@time_machine.travel(NOW, tick=False)  # one day throughout, whatever the real date
def test_two_recheck_outcomes_at_once_cannot_both_win(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        li = one.scalar(select(User).where(User.username == "li"))
        order_id = one.scalar(select(RectificationOrder.id))
        move_order(one, li, order_id, {"move": "pass", "note": "合格"}, rules=load_rules())
        one.flush()  # moved, not committed: the first terminal's request is still going

        def fail_and_commit():
            try:
                move_order(other, other.get(User, li.id), order_id,
                           {"move": "fail", "note": "不合格"}, rules=load_rules())
                other.commit()
            except Exception:
                other.rollback()  # as the request would
                raise

        failing, outcome = in_background(fail_and_commit)
        blocked_or_done(observer, failing)  # the second waits on the first's row lock
        assert failing.is_alive(), outcome  # it did wait: it read recheck_due, as the first had
        one.commit()
        failing.join(10)
        assert isinstance(outcome[0], IllegalMove), outcome
        assert outcome[0].details == {"state": "passed", "allowed": []}
        observer.expire_all()
        order = observer.get(RectificationOrder, order_id)
        assert order.state == "passed"
        assert [(m.move, m.to_state) for m in observer.scalars(select(OrderMove))] == \
            [("pass", "passed")]
        assert observer.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("order.%")).order_by(AuditEvent.id)).all() == \
            ["order.issue", "order.pass"]
        assert observer.scalar(select(Inspection.id)) is not None
