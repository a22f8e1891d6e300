"""Two supervisors at the same moment (PostgreSQL): a penalty is published once, and two
penalties of one premises crossing a threshold together open its measure once.

Publishing is a conditional UPDATE ... WHERE publication_state = 'pending': the second waits
on the first's row lock, then finds it published. Points of one premises queue on its row.
"""

import uuid
from datetime import date

import time_machine
from sqlalchemy import select

from server.errors import Conflict
from server.models import AuditEvent, Penalty, Premises, PremisesMeasure, User
from server.services.followups.penalties import publish, record_penalty
from server.services.followups.points import load_rules
from tests.integration.followups_scene import NOW, build_scene
from tests.integration.test_photo_races import blocked_or_done, in_background
from tests.live import concurrent_sessions


def penalty_data(premises_id, penalty_type="suspension"):
    return {"client_uuid": str(uuid.uuid4()), "decision_number": str(uuid.uuid4())[:20],
            "decided_on": date(2026, 3, 2), "type": penalty_type, "amount": None,
            "legal_basis": "《医疗机构管理条例》", "premises_id": premises_id}


def prepare(session):
    """The follow-ups scene with one pending penalty (6 points: no threshold yet)."""
    scene = build_scene(session)
    record_penalty(session, scene.world.admin, {
        **penalty_data(scene.world.clinic.id, "fine"), "amount": 100},
        point_rules=load_rules(), recheck_days=30)


def _in_background_committed(session, work):
    def run():
        try:
            result = work()
            session.commit()
            return result
        except Exception:
            session.rollback()  # as the request would
            raise

    return in_background(run)


@time_machine.travel(NOW, tick=False)
def test_two_publications_at_once_cannot_both_land(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        admin = one.scalar(select(User).where(User.username == "root"))
        penalty_id = one.scalar(select(Penalty.id))
        publish(one, admin, penalty_id, published_on=date(2026, 3, 2), where="公示栏")
        one.flush()  # published, not committed: the first request is still going
        second, outcome = _in_background_committed(other, lambda: publish(
            other, other.get(User, admin.id), penalty_id, published_on=date(2026, 3, 2),
            where="网站"))
        blocked_or_done(observer, second)
        assert second.is_alive(), outcome  # it waits on the row lock
        one.commit()
        second.join(10)
        assert isinstance(outcome[0], Conflict) and outcome[0].code == "already_published", outcome
        observer.expire_all()
        penalty = observer.get(Penalty, penalty_id)
        assert (penalty.publication_state, penalty.published_where) == ("published", "公示栏")
        assert observer.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "penalty.publish")).all() == ["penalty.publish"]


@time_machine.travel(NOW, tick=False)
def test_two_penalties_crossing_a_threshold_together_open_its_measure_once(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        admin = one.scalar(select(User).where(User.username == "root"))
        premises_id = one.scalar(select(Penalty.premises_id))
        rules = load_rules()
        record_penalty(one, admin, penalty_data(premises_id), point_rules=rules, recheck_days=30)
        one.flush()  # 18 points, not committed
        second, outcome = _in_background_committed(other, lambda: record_penalty(
            other, other.get(User, admin.id), penalty_data(premises_id), point_rules=rules,
            recheck_days=30))
        blocked_or_done(observer, second)
        assert second.is_alive(), outcome  # it waits on the premises row
        one.commit()
        second.join(10)
        assert not isinstance(outcome[0], Exception), outcome
        observer.expire_all()
        kinds = observer.scalars(select(PremisesMeasure.kind).where(
            PremisesMeasure.premises_id == premises_id).order_by(PremisesMeasure.id)).all()
        # 6 + 12 + 12 = 30: each threshold once, whichever committed first.
        assert kinds == ["interview_warning", "key_supervision_proposal", "deferred_validation"]
        assert observer.get(Premises, premises_id) is not None

