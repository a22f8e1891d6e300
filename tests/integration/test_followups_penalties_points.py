"""Bad-practice points (不良执业行为记分) from penalties and orders, thresholds opening their
measure once per cycle, repeated recheck failure opening an interview warning (约谈) once,
and the measures API."""

import uuid
from datetime import UTC, date, datetime

import time_machine

from server.models import AuditEvent, PracticePoint, PremisesMeasure
from server.services.followups.deadlines import load_rules as deadline_rules
from server.services.followups.measures import attention_of
from server.services.followups.orders import move_order
from server.services.followups.penalties import record_penalty
from server.services.followups.points import load_rules
from tests.factories import auth_headers
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    NOW,
    headers,
    issue,
    scene,
)

POINTS = "/api/v1/followups/points"
MEASURES = "/api/v1/followups/measures"


def penalise(db_session, scene, penalty_type, decided_on=date(2026, 3, 2), premises=None):
    """Record a penalty through the service as the admin (amounts as the type needs)."""
    amount = {"fine": 1000, "confiscation": 500}.get(penalty_type)
    penalty, _ = record_penalty(db_session, scene.world.admin, {
        "client_uuid": str(uuid.uuid4()), "decision_number": str(uuid.uuid4())[:20],
        "decided_on": decided_on, "type": penalty_type, "amount": amount,
        "legal_basis": "《医疗机构管理条例》", "premises_id": (premises or scene.world.clinic).id},
        point_rules=load_rules(), recheck_days=30)
    return penalty


def measures(db_session, **where):
    db_session.expire_all()
    return [(m.kind, m.source, m.period) for m in
            db_session.query(PremisesMeasure).filter_by(**where).order_by(PremisesMeasure.id)]


def test_thresholds_open_their_measure_once_per_cycle(db_session, scene):
    with time_machine.travel(NOW, tick=False):
        penalise(db_session, scene, "licence_revocation")  # 12
        assert measures(db_session) == [("interview_warning", "points", "points:2026-01-01")]
        penalise(db_session, scene, "fine")  # 18
        penalise(db_session, scene, "warning")  # 21
        penalise(db_session, scene, "confiscation")  # 27
        penalise(db_session, scene, "suspension")  # 39: every threshold again, nothing new
    assert measures(db_session) == [("interview_warning", "points", "points:2026-01-01"),
                                    ("key_supervision_proposal", "points", "points:2026-01-01"),
                                    ("deferred_validation", "points", "points:2026-01-01")]
    assert db_session.query(AuditEvent).filter_by(action="measure.open").count() == 3
    # The next cycle starts from nothing: the same threshold opens its measure again, once.
    with time_machine.travel(datetime(2027, 1, 5, 2, 30, tzinfo=UTC), tick=False):
        penalise(db_session, scene, "fine", decided_on=date(2027, 1, 4))
        assert len(measures(db_session)) == 3
        penalise(db_session, scene, "suspension", decided_on=date(2027, 1, 4))
    assert measures(db_session, period="points:2027-01-01") == [
        ("interview_warning", "points", "points:2027-01-01"),
        ("key_supervision_proposal", "points", "points:2027-01-01")]


def test_an_issued_order_accrues_its_findings_points_once_and_a_reissue_none(db_session,
                                                                               scene):
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)  # MI-01 key (3) + MI-04 major (2)
        move_order(db_session, scene.li, order.id, {"move": "start_recheck"},
                   rules=deadline_rules())
        move_order(db_session, scene.li, order.id, {"move": "fail", "note": "仍未整改"},
                   rules=deadline_rules())
        move_order(db_session, scene.li, order.id, {"move": "reissue"}, rules=deadline_rules())
    rows = db_session.query(PracticePoint).all()
    assert [(r.points, r.source_kind, r.source_id, r.rule, r.cycle_start) for r in rows] == \
        [(5, "order", order.id, "finding:key×1+major×1", date(2026, 1, 1))]


def test_the_points_api_gives_the_cycle_total_thresholds_and_entries(client, db_session, scene,
                                                                     headers):
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)
        penalty = penalise(db_session, scene, "licence_revocation")
        answer = client.get(f"{POINTS}?premises_id={scene.world.clinic.id}",
                            headers=headers["wang"])
        foreign = client.get(f"{POINTS}?premises_id={scene.world.clinic.id}",
                             headers=headers["zhao"])
        missing = client.get(POINTS, headers=headers["wang"])
    assert answer.status_code == 200, answer.get_json()
    points = answer.get_json()
    assert (points["total"], points["cycle_start"], points["cycle_end"]) == \
        (17, "2026-01-01", "2026-12-31")
    assert [(e["source_kind"], e["source_id"], e["points"]) for e in points["entries"]] == \
        [("order", order.id, 5), ("penalty", penalty.id, 12)]
    assert [(t["points"], t["opens"], t["reached"]) for t in points["thresholds"]] == \
        [(12, "interview_warning", True), (18, "key_supervision_proposal", False),
         (24, "deferred_validation", False)]
    assert points["thresholds"][0]["opens_label"] == {"zh": "约谈", "en": "Interview warning"}
    assert (foreign.status_code, missing.status_code) == (404, 422)


def fail_order(db_session, scene, at):
    """Issue an order with one minor finding (1 point) and fail its recheck."""
    with time_machine.travel(at, tick=False):
        order = issue(db_session, scene, findings=["MI-10"])
        move_order(db_session, scene.li, order.id, {"move": "start_recheck"},
                   rules=deadline_rules())
        move_order(db_session, scene.li, order.id, {"move": "fail", "note": "复查不合格"},
                   rules=deadline_rules())
    return order


def test_repeated_failure_opens_one_interview_warning_per_run_of_failures(db_session, scene):
    first = fail_order(db_session, scene, NOW)
    assert measures(db_session) == []
    second = fail_order(db_session, scene, datetime(2026, 4, 1, 2, 30, tzinfo=UTC))
    opened = db_session.query(PremisesMeasure).one()
    assert (opened.kind, opened.source, opened.state, opened.opened_on) == \
        ("interview_warning", "repeated_failure", "open", date(2026, 4, 1))
    assert opened.details["order_ids"] == [first.id, second.id]
    assert opened.cell_id == scene.world.clinic.cell_id
    # A third failure is one new failure, not two: nothing more opens.
    fail_order(db_session, scene, datetime(2026, 5, 6, 2, 30, tzinfo=UTC))
    assert len(measures(db_session)) == 1
    fail_order(db_session, scene, datetime(2026, 5, 7, 2, 30, tzinfo=UTC))
    assert [m[1] for m in measures(db_session)] == ["repeated_failure", "repeated_failure"]


def test_failures_further_apart_than_the_window_open_nothing(db_session, scene):
    fail_order(db_session, scene, NOW)
    fail_order(db_session, scene, datetime(2027, 3, 10, 2, 30, tzinfo=UTC))  # > 365 days
    assert measures(db_session) == []


def test_failures_at_another_premises_do_not_count(db_session, scene):
    from tests.integration.followups_scene import non_compliant_inspection

    fail_order(db_session, scene, NOW)
    with time_machine.travel(NOW, tick=False):
        other = non_compliant_inspection(db_session, scene.world.admin, scene.world.foreign_clinic)
        order = issue(db_session, scene, actor=scene.world.admin, inspection_id=other.id,
                      findings=["MI-10"])
        for move in ({"move": "start_recheck"}, {"move": "fail", "note": "x"}):
            move_order(db_session, scene.world.admin, order.id, move, rules=deadline_rules())
    assert measures(db_session) == []


def test_measures_are_listed_in_scope_and_done_once(client, db_session, scene, headers):
    with time_machine.travel(NOW, tick=False):
        penalise(db_session, scene, "licence_revocation")
        penalise(db_session, scene, "licence_revocation", premises=scene.world.foreign_clinic)
        mine = client.get(MEASURES, headers=headers["chief"]).get_json()
        assert [(m["kind"], m["premises_id"], m["state"]) for m in mine] == \
            [("interview_warning", scene.world.clinic.id, "open")]
        assert mine[0]["kind_label"] == {"zh": "约谈", "en": "Interview warning"}
        assert mine[0]["source_label"] == {"zh": "记分达到阈值", "en": "Points threshold"}
        assert len(client.get(MEASURES, headers=headers["admin"]).get_json()) == 2
        assert client.get(f"{MEASURES}?state=done", headers=headers["chief"]).get_json() == []
        assert client.get(f"{MEASURES}?kind=deferred_validation",
                          headers=headers["chief"]).get_json() == []
        foreign_id = client.get(f"{MEASURES}?premises_id={scene.world.foreign_clinic.id}",
                                headers=headers["admin"]).get_json()[0]["id"]
    url = f"{MEASURES}/{mine[0]['id']}/done"
    with time_machine.travel(datetime(2026, 3, 10, 2, 30, tzinfo=UTC), tick=False):
        chief = auth_headers(db_session, scene.world.chief)
        li = auth_headers(db_session, scene.li)
        held = {"held_on": "2026-03-09", "outcome": "约谈负责人，责令限期自查"}
        assert client.post(url, json=held, headers=li).status_code == 403
        assert client.post(f"{MEASURES}/{foreign_id}/done", json=held,
                           headers=chief).status_code == 404
        early = client.post(url, json={**held, "held_on": "2026-03-01"}, headers=chief)
        late = client.post(url, json={**held, "held_on": "2026-03-11"}, headers=chief)
        blank = client.post(url, json={**held, "outcome": "  "}, headers=chief)
        assert [r.status_code for r in (early, late, blank)] == [422, 422, 422]
        assert early.get_json()["error"]["code"] == "held_on_out_of_range"
        assert measures(db_session, state="done") == []
        done = client.post(url, json=held, headers=chief)
        again = client.post(url, json=held, headers=chief)
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["state"], done.get_json()["held_on"], done.get_json()["outcome"]) == \
        ("done", "2026-03-09", "约谈负责人，责令限期自查")
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "measure_done")
    assert db_session.query(AuditEvent).filter_by(action="measure.done").count() == 1


def test_attention_counts_open_and_recent_measures(db_session, scene):
    with time_machine.travel(NOW, tick=False):
        penalise(db_session, scene, "licence_revocation")
    clinic, foreign = scene.world.clinic.id, scene.world.foreign_clinic.id
    assert attention_of(db_session, {clinic, foreign}, since=date(2026, 1, 1)) == \
        {clinic: {"open": 1, "opened_since": 1}}
