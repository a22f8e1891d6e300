"""Cases (案件) move: the next stage only, by the roles of the stage table; transfer; close at
the last stage; overdue stages in the list and the sweep; orders that answer a complaint."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select, update

from server.models import (
    AuditEvent,
    Case,
    CaseStage,
    CaseTransfer,
    Notification,
    RectificationOrder,
)
from server.services.followups.escalation import load_rules, sweep
from tests.factories import assign, auth_headers, make_user
from tests.integration.test_followups_cases import (  # noqa: F401 - fixture
    URL,
    casework,
    opened,
    verified_complaint,
)

STAGES = ("filing", "investigation", "notification", "decision", "execution", "closing")
# Who may move a case INTO each stage (the table's enter_roles), written out apart from it.
ENTER = {"investigation": ("admin", "supervisor", "officer"),
         "notification": ("admin", "supervisor", "officer"),
         "decision": ("admin", "supervisor", "officer"),
         "execution": ("admin", "supervisor"),
         "closing": ("admin", "supervisor", "officer")}
ACTORS = {"admin": "admin", "supervisor": "chief", "officer": "li", "coordinator": "wang"}


@pytest.fixture
def case(client, db_session, casework):
    response = opened(client, casework, "inspection", casework.inspection.id)
    assert response.status_code == 201
    return db_session.get(Case, response.get_json()["id"])


def at_stage(db_session, case, stage, state="open"):
    db_session.execute(update(Case).where(Case.id == case.id)
                       .values(stage=stage, state=state, filed_on=date(2026, 3, 2)))
    db_session.flush()


def advance(client, scene, case, stage, who="chief", **extra):
    return client.post(f"{URL}{case.id}/stages", json={"stage": stage, **extra},
                       headers=scene.headers[who])


def extra_for(stage):
    return {"decision": "罚款五千元"} if stage == "execution" else {}


@pytest.mark.parametrize("role", sorted(ACTORS))
def test_each_stage_moves_only_to_the_next_and_only_by_its_roles(client, db_session, casework,
                                                                 case, role):
    for current in STAGES:
        for target in STAGES:
            at_stage(db_session, case, current)
            response = advance(client, casework, case, target, who=ACTORS[role],
                               **extra_for(target))
            following = STAGES[STAGES.index(current) + 1] if current != "closing" else None
            db_session.expire_all()
            if target != following:
                assert response.status_code == 409, (current, target)
                error = response.get_json()["error"]
                assert error["code"] == "illegal_stage"
                assert error["details"]["stage"] == current
                allowed = [following] if following and role in ENTER[following] else []
                if current == "closing" and role in ("admin", "supervisor"):
                    allowed = ["close"]
                assert error["details"]["allowed"] == allowed, (current, role)
                assert db_session.get(Case, case.id).stage == current
            elif role in ENTER[target]:
                assert response.status_code == 200, (current, target, response.get_json())
                assert db_session.get(Case, case.id).stage == target
            else:
                assert response.status_code == 403, (current, target)
                assert db_session.get(Case, case.id).stage == current


def test_a_case_goes_through_every_stage_with_its_dates_and_decision(client, db_session,
                                                                     casework, case):
    assert advance(client, casework, case, "investigation", who="li").status_code == 200
    assert advance(client, casework, case, "notification", who="li", note="证据充分").status_code \
        == 200
    assert advance(client, casework, case, "decision", who="li").status_code == 200
    missing = advance(client, casework, case, "execution")
    assert missing.status_code == 422 and "decision" in missing.get_json()["error"]["details"]
    assert advance(client, casework, case, "execution", decision="警告并罚款五千元").status_code == 200
    assert advance(client, casework, case, "closing", who="li").status_code == 200
    early = client.post(f"{URL}{case.id}/close", json={}, headers=casework.headers["li"])
    assert early.status_code == 403  # closing is for supervisors and admins
    closed = client.post(f"{URL}{case.id}/close", json={"note": "执行完毕"},
                         headers=casework.headers["chief"])
    assert closed.status_code == 200, closed.get_json()
    body = closed.get_json()
    assert (body["state"], body["closed_on"], body["filed_on"]) == ("closed", "2026-03-02",
                                                                    "2026-03-02")
    assert body["decision_summary"] == "警告并罚款五千元"
    assert body["due_on"] is None
    rows = [(s["stage"], s["due_on"], s["completed_on"]) for s in body["stages"]]
    # Filed on Monday 2 March: investigation 60 days and decision 90 days from filing;
    # notification 10 and closing 15 working days, execution 30 days from entering.
    assert rows == [("filing", "2026-03-11", "2026-03-02"),
                    ("investigation", "2026-05-01", "2026-03-02"),
                    ("notification", "2026-03-16", "2026-03-02"),
                    ("decision", "2026-05-31", "2026-03-02"),
                    ("execution", "2026-04-01", "2026-03-02"),
                    ("closing", "2026-03-23", "2026-03-02")]
    assert body["stages"][3]["details"] == {"decision": "警告并罚款五千元"}
    assert db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "case").order_by(AuditEvent.id)).all() == \
        ["case.open"] + ["case.advance"] * 5 + ["case.close"]
    again = client.post(f"{URL}{case.id}/close", json={}, headers=casework.headers["chief"])
    assert again.status_code == 409 and again.get_json()["error"]["details"]["allowed"] == []


def test_a_decision_is_taken_only_when_leaving_the_decision_stage(client, db_session, casework,
                                                                  case):
    response = advance(client, casework, case, "investigation", decision="罚款")
    assert response.status_code == 422
    assert db_session.get(Case, case.id).stage == "filing"


def test_close_before_the_last_stage_is_409_naming_the_stage(client, db_session, casework, case):
    response = client.post(f"{URL}{case.id}/close", json={}, headers=casework.headers["chief"])
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == {"stage": "filing", "state": "open",
                                                       "allowed": ["investigation"]}


def test_a_transfer_to_the_police_is_recorded_once(client, db_session, casework, case):
    sent = {"kind": "police", "receiving_body": "乌海市公安局海勃湾分局", "reference": "乌公移〔2026〕3号",
            "reason": "涉嫌非法行医罪"}
    officer = client.post(f"{URL}{case.id}/transfers", json=sent, headers=casework.headers["li"])
    assert officer.status_code == 403
    future = client.post(f"{URL}{case.id}/transfers", json={**sent, "transferred_on": "2026-03-03"},
                         headers=casework.headers["chief"])
    assert future.status_code == 422
    assert db_session.scalar(select(func.count()).select_from(CaseTransfer)) == 0
    response = client.post(f"{URL}{case.id}/transfers", json=sent,
                           headers=casework.headers["chief"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "transferred"
    assert body["state_label"] == {"zh": "已移送", "en": "Transferred"}
    assert [(t["kind"], t["receiving_body"], t["reference"], t["transferred_on"])
            for t in body["transfers"]] == [("police", sent["receiving_body"], sent["reference"],
                                             "2026-03-02")]
    again = client.post(f"{URL}{case.id}/transfers", json={**sent, "kind": "other_authority"},
                        headers=casework.headers["chief"])
    assert again.status_code == 409
    assert db_session.scalar(select(func.count()).select_from(CaseTransfer)) == 1
    # Stages may still be recorded; the case closes from any stage once transferred.
    assert advance(client, casework, case, "investigation", who="li").status_code == 200
    closed = client.post(f"{URL}{case.id}/close", json={}, headers=casework.headers["chief"])
    assert closed.status_code == 200 and closed.get_json()["state"] == "closed"
    assert db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "case").order_by(AuditEvent.id)).all() == \
        ["case.open", "case.transfer", "case.advance", "case.close"]


# Filing entered Monday 2 March is due Wednesday 11 March (7 working days).
LATER = datetime(2026, 3, 16, 2, 30, tzinfo=UTC)  # Monday: 5 days past due


def overdue_for(client, db_session, user):
    with time_machine.travel(LATER, tick=False):
        response = client.get("/api/v1/followups/overdue", query_string={"kind": "case_stage"},
                              headers=auth_headers(db_session, user))
    assert response.status_code == 200
    return response.get_json()


def test_an_overdue_stage_is_in_the_list_of_its_handlers_and_supervisors_up_the_grid(
        client, db_session, casework, case):
    world = casework.world
    stage_id = db_session.scalar(select(CaseStage.id).where(CaseStage.case_id == case.id))
    for user in (casework.li, world.chief, world.admin, world.wang):
        items = overdue_for(client, db_session, user)
        assert [(i["kind"], i["id"], i["days_overdue"], i["due_date"]) for i in items] == \
            [("case_stage", stage_id, 5, "2026-03-11")], user.username
        assert [o["id"] for o in items[0]["owners"]] == [casework.li.id]
        assert items[0]["kind_label"] == {"zh": "案件办理期限", "en": "Case stage time limit"}
    for user in (world.zhao, world.other_chief):
        assert overdue_for(client, db_session, user) == []
    with time_machine.travel(LATER, tick=False):
        listed = client.get(URL, query_string={"overdue": "true"},
                            headers=auth_headers(db_session, casework.li)).get_json()
    assert [c["id"] for c in listed] == [case.id]


def test_a_transferred_or_advanced_case_is_not_overdue(client, db_session, casework, case):
    assert advance(client, casework, case, "investigation", who="li").status_code == 200
    assert overdue_for(client, db_session, casework.li) == []  # due 1 May now
    at_stage(db_session, case, "investigation", state="transferred")
    db_session.execute(update(CaseStage).where(CaseStage.case_id == case.id)
                       .values(due_on=date(2026, 3, 4)))
    assert overdue_for(client, db_session, casework.li) == []


def test_the_sweep_reminds_the_handlers_and_escalates_once(client, db_session, casework, case):
    world = casework.world
    street = make_user(db_session, "supervisor", "street_sup")
    assign(db_session, world.admin, street, world.grid.cells["D1001"])
    stage_id = db_session.scalar(select(CaseStage.id).where(CaseStage.case_id == case.id))
    with time_machine.travel(datetime(2026, 3, 9, 2, 30, tzinfo=UTC), tick=False):
        first = sweep(db_session, None, rules=load_rules())  # 2 days before due
    assert first["reminders"] >= 1
    with time_machine.travel(LATER, tick=False):
        later = sweep(db_session, None, rules=load_rules())  # 5 days overdue: street level
        again = sweep(db_session, None, rules=load_rules())
    assert later["escalations"] >= 1
    assert (again["reminders"], again["escalations"]) == (0, 0)
    told = sorted((n.user_id, n.kind, n.level) for n in db_session.scalars(
        select(Notification).where(Notification.subject_kind == "case_stage",
                                   Notification.subject_id == stage_id)))
    assert told == sorted([(casework.li.id, "reminder", "before_2"),
                           (street.id, "escalation", "street")])


def test_an_order_answers_a_complaint_about_its_premises(client, db_session, casework):
    complaint = verified_complaint(db_session, casework, status="verifying")
    order = {"client_uuid": "00000000-0000-4000-8000-00000000c0de",
             "inspection_id": casework.inspection.id, "findings": ["MI-01"], "measures": "补办",
             "complaint_id": complaint.id}
    response = client.post("/api/v1/followups/orders/", json=order,
                           headers=casework.headers["li"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["complaint_id"] == complaint.id
    shown = client.get(f"/api/v1/followups/complaints/{complaint.id}",
                       headers=casework.headers["chief"]).get_json()
    assert shown["orders"] == [{"order_id": response.get_json()["id"], "state": "issued"}]
    assert shown["cases"] == []


def test_a_complaint_about_other_premises_or_not_verified_is_refused(client, db_session,
                                                                     casework):
    from tests.factories import make_premises

    world = casework.world
    other = make_premises(db_session, world.admin, world.grid.cells["D1001002"])
    elsewhere = verified_complaint(db_session, casework, premises=other)
    unfounded = verified_complaint(db_session, casework, status="verifying")
    db_session.execute(update(type(unfounded)).where(type(unfounded).id == unfounded.id)
                       .values(status="unfounded"))
    db_session.flush()
    for complaint_id, status in ((elsewhere.id, 422), (unfounded.id, 422), (10**6, 404)):
        response = client.post("/api/v1/followups/orders/", json={
            "client_uuid": f"00000000-0000-4000-8000-{complaint_id:012d}",
            "inspection_id": casework.inspection.id, "findings": ["MI-01"], "measures": "补办",
            "complaint_id": complaint_id}, headers=casework.headers["li"])
        assert response.status_code == status, response.get_json()
    assert db_session.scalar(select(func.count()).select_from(RectificationOrder)) == 0


def test_a_case_opened_from_a_complaint_shows_on_it(client, db_session, casework):
    complaint = verified_complaint(db_session, casework)
    case = opened(client, casework, "complaint", complaint.id, who="chief").get_json()
    shown = client.get(f"/api/v1/followups/complaints/{complaint.id}",
                       headers=casework.headers["chief"]).get_json()
    assert shown["cases"] == [{"case_id": case["id"], "number": case["number"], "state": "open"}]
