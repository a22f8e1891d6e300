"""Cases (案件): opened from each source, numbered without gaps, one open per source; bad
sources refused with nothing stored; an order's escalation opens its case."""

import uuid
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select, update

from server.models import (
    AuditEvent,
    Case,
    CaseStage,
    ChangeEvent,
    DocumentCounter,
    Inspection,
    RectificationOrder,
)
from server.services.followups import complaints
from tests.factories import auth_headers, make_inspection
from tests.integration.followups_scene import NOW, build_scene, issue

URL = "/api/v1/followups/cases/"


@pytest.fixture
def casework(db_session):
    """The follow-ups scene on the frozen Monday 2 March 2026, for the whole test; headers by
    name signed in on that day."""
    with time_machine.travel(NOW, tick=False):
        scene = build_scene(db_session)
        world = scene.world
        people = {"admin": world.admin, "chief": world.chief, "li": scene.li,
                  "wang": world.wang, "zhao": world.zhao, "other_chief": world.other_chief}
        scene.headers = {name: auth_headers(db_session, user) for name, user in people.items()}
        scene.people = people
        yield scene


def escalated_order(db_session, scene):
    """An order of the scene moved straight to escalated on the row (no case opened)."""
    order = issue(db_session, scene)
    db_session.execute(update(RectificationOrder).where(RectificationOrder.id == order.id)
                       .values(state="escalated"))
    db_session.flush()
    return order


def verified_complaint(db_session, scene, premises=None, status="verified"):
    """A real-name complaint about the clinic, verified (or only verifying)."""
    world = scene.world
    complaint = complaints.intake(db_session, world.admin, {
        "channel": "phone", "category_code": "other", "content": "无证行医",
        "premises_id": (premises or world.clinic).id, "anonymous": False,
        "complainant": {"name": "张三", "phone": "13800000000"}}, feedback_days=15)
    if status == "verified":
        complaints.verify(db_session, world.admin, complaint.id, outcome="verified",
                          result="属实")
    return complaint


def source_of(db_session, scene, kind):
    if kind == "order":
        return escalated_order(db_session, scene).id
    if kind == "complaint":
        return verified_complaint(db_session, scene).id
    return scene.inspection.id


def body(kind, source_id, **extra):
    return {"client_uuid": str(uuid.uuid4()), "source": {"kind": kind, "id": source_id},
            "title": "超范围执业", "summary": "现场检查发现", **extra}


def opened(client, scene, kind, source_id, who="li", **extra):
    return client.post(URL, json=body(kind, source_id, **extra), headers=scene.headers[who])


def stored(db_session):
    db_session.expire_all()
    return (db_session.scalar(select(func.count()).select_from(Case)),
            db_session.scalar(select(func.count()).select_from(CaseStage)),
            db_session.scalar(select(func.max(DocumentCounter.last_serial))))


@pytest.mark.parametrize("kind", ["order", "complaint", "inspection"])
def test_a_case_opens_from_each_source_at_filing_with_its_due_day(client, db_session, casework,
                                                                   kind):
    source_id = source_of(db_session, casework, kind)
    response = opened(client, casework, kind, source_id)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert case["number"] == "乌卫立〔2026〕第0001号"
    assert case["source"]["kind"] == kind and case["source"]["id"] == source_id
    assert case["premises_id"] == casework.world.clinic.id
    assert (case["stage"], case["state"], case["opened_on"]) == ("filing", "open", "2026-03-02")
    assert case["stage_label"] == {"zh": "立案", "en": "Filing"}
    # 7 working days after Monday 2 March (the day itself not counted).
    assert case["due_on"] == "2026-03-11"
    assert [(s["stage"], s["due_on"], s["completed_on"]) for s in case["stages"]] == \
        [("filing", "2026-03-11", None)]
    assert case["handler_ids"] == [casework.li.id]
    assert db_session.scalar(select(AuditEvent.action).where(
        AuditEvent.entity_type == "case")) == "case.open"
    assert db_session.scalar(select(ChangeEvent.cell_id).where(
        ChangeEvent.entity_type == "case")) == casework.world.clinic.cell_id


def test_numbers_follow_one_another_per_office_and_year(client, db_session, casework):
    first = opened(client, casework, "inspection", casework.inspection.id).get_json()
    second = opened(client, casework, "complaint",
                    verified_complaint(db_session, casework).id).get_json()
    assert [first["number"], second["number"]] == ["乌卫立〔2026〕第0001号", "乌卫立〔2026〕第0002号"]


def test_the_same_uuid_answers_the_case_again_and_other_content_is_a_conflict(client, db_session,
                                                                              casework):
    sent = body("inspection", casework.inspection.id)
    first = client.post(URL, json=sent, headers=casework.headers["li"])
    again = client.post(URL, json=sent, headers=casework.headers["li"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post(URL, json={**sent, "title": "别的"}, headers=casework.headers["li"])
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "uuid_conflict"
    assert stored(db_session) == (1, 1, 1)


def test_a_source_with_an_open_case_answers_409_naming_it(client, db_session, casework):
    first = opened(client, casework, "inspection", casework.inspection.id).get_json()
    second = opened(client, casework, "inspection", casework.inspection.id, who="chief")
    assert second.status_code == 409
    error = second.get_json()["error"]
    assert error["code"] == "case_exists"
    assert error["details"]["case"] == {"id": first["id"], "number": first["number"],
                                        "state": "open"}
    assert stored(db_session) == (1, 1, 1)  # no number taken for it


def test_a_closed_case_does_not_stop_another_from_the_same_source(client, db_session, casework):
    first = opened(client, casework, "inspection", casework.inspection.id).get_json()
    db_session.execute(update(Case).where(Case.id == first["id"]).values(state="closed"))
    db_session.flush()
    again = opened(client, casework, "inspection", casework.inspection.id)
    assert again.status_code == 201
    assert again.get_json()["number"] == "乌卫立〔2026〕第0002号"


def _order_issued(db_session, scene):
    return issue(db_session, scene).id


def _complaint_verifying(db_session, scene):
    return verified_complaint(db_session, scene, status="verifying").id


def _compliant_inspection(db_session, scene):
    return make_inspection(db_session, scene.li, scene.world.clinic).id


def _corrected_inspection(db_session, scene):
    newer = make_inspection(db_session, scene.li, scene.world.clinic,
                            conclusion="rectification_required")
    db_session.execute(update(Inspection).where(Inspection.id == newer.id)
                       .values(revision_of_id=scene.inspection.id))
    db_session.flush()
    return scene.inspection.id


@pytest.mark.parametrize("kind, make, who, status, code", [
    ("order", _order_issued, "li", 422, "source_not_eligible"),
    ("complaint", _complaint_verifying, "chief", 422, "source_not_eligible"),
    ("inspection", _compliant_inspection, "li", 422, "source_not_eligible"),
    ("inspection", _corrected_inspection, "li", 422, "source_not_eligible"),
    ("inspection", lambda s, scene: scene.inspection.id, "other_chief", 404, "not_found"),
    ("inspection", lambda s, scene: scene.inspection.id, "wang", 403, "role_required"),
    ("order", lambda s, scene: 10**6, "li", 404, "not_found"),
    ("penalty", lambda s, scene: 1, "li", 422, "validation_failed"),
])
def test_a_bad_source_is_refused_and_nothing_is_stored(client, db_session, casework, kind, make,
                                                       who, status, code):
    source_id = make(db_session, casework)
    before = stored(db_session)
    response = opened(client, casework, kind, source_id, who=who)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert stored(db_session) == before
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "case")) == 0


def test_handlers_are_named_at_opening_and_must_be_enforcers(client, db_session, casework):
    chief, li, wang = casework.world.chief, casework.li, casework.world.wang
    bad = opened(client, casework, "inspection", casework.inspection.id,
                 handler_ids=[li.id, wang.id])
    assert bad.status_code == 422 and bad.get_json()["error"]["details"] == \
        {"handler_ids": [wang.id]}
    assert stored(db_session)[0] == 0
    good = opened(client, casework, "inspection", casework.inspection.id,
                  handler_ids=[chief.id, li.id])
    assert good.get_json()["handler_ids"] == sorted([chief.id, li.id])


def test_a_case_without_a_calendar_for_its_due_day_is_refused(client, db_session, casework):
    with time_machine.travel(date(2028, 12, 27), tick=False):  # no 2028/2029 calendar loaded
        headers = auth_headers(db_session, casework.li)
        response = client.post(URL, json=body("inspection", casework.inspection.id),
                               headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "calendar_missing"
    assert stored(db_session) == (0, 0, None)


def test_escalating_an_order_opens_its_case_in_the_same_move(client, db_session, casework):
    order = issue(db_session, casework)
    db_session.execute(update(RectificationOrder).where(RectificationOrder.id == order.id)
                       .values(state="failed"))
    db_session.flush()
    response = client.post(f"/api/v1/followups/orders/{order.id}/moves",
                           json={"move": "escalate", "reason": "拒不整改"},
                           headers=casework.headers["chief"])
    assert response.status_code == 200, response.get_json()
    case = db_session.scalars(select(Case)).one()
    assert (case.source_kind, case.source_id, case.stage, case.state) == \
        ("order", order.id, "filing", "open")
    assert case.summary == "拒不整改"
    assert sorted(user.id for user in case.handlers) == sorted([casework.world.chief.id,
                                                                casework.li.id])
    again = opened(client, casework, "order", order.id)
    assert again.status_code == 409
    assert again.get_json()["error"]["details"]["case"]["id"] == case.id
    actions = db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["case.open", "order.escalate"]


def test_an_escalation_without_a_calendar_moves_nothing(client, db_session, casework):
    order = issue(db_session, casework)
    db_session.execute(update(RectificationOrder).where(RectificationOrder.id == order.id)
                       .values(state="failed"))
    db_session.flush()
    with time_machine.travel(date(2028, 12, 27), tick=False):
        response = client.post(f"/api/v1/followups/orders/{order.id}/moves",
                               json={"move": "escalate", "reason": "拒不整改"},
                               headers=auth_headers(db_session, casework.world.chief))
    assert response.status_code == 422
    db_session.expire_all()
    assert db_session.get(RectificationOrder, order.id).state == "failed"
    assert stored(db_session) == (0, 0, None)


def test_cases_are_listed_and_read_in_scope_only(client, db_session, casework):
    case = opened(client, casework, "inspection", casework.inspection.id).get_json()
    for who in ("li", "chief", "wang", "admin"):
        listed = client.get(URL, headers=casework.headers[who]).get_json()
        assert [c["id"] for c in listed] == [case["id"]], who
        assert client.get(f"{URL}{case['id']}", headers=casework.headers[who]).status_code == 200
    for who in ("zhao", "other_chief"):
        assert client.get(URL, headers=casework.headers[who]).get_json() == []
        assert client.get(f"{URL}{case['id']}",
                          headers=casework.headers[who]).status_code == 404
    filtered = client.get(URL, query_string={"state": "closed"},
                          headers=casework.headers["li"]).get_json()
    assert filtered == []
    by_stage = client.get(URL, query_string={"stage": "filing",
                                             "premises_id": casework.world.clinic.id},
                          headers=casework.headers["li"]).get_json()
    assert [c["id"] for c in by_stage] == [case["id"]]


def test_cases_never_reach_the_terminals_pull(client, db_session, casework):
    """Cases are office work: in the feed for the record, never a pull item (not even a
    tombstone)."""
    headers = casework.headers["li"]
    first = client.get("/api/v1/sync/pull", headers=headers).get_json()
    while first["has_more"]:
        first = client.get("/api/v1/sync/pull", headers=headers, query_string={
            "cursor": first["next_cursor"], "scope": first["scope"]}).get_json()
    opened(client, casework, "inspection", casework.inspection.id)
    later = client.get("/api/v1/sync/pull", headers=headers, query_string={
        "cursor": first["next_cursor"], "scope": first["scope"]}).get_json()
    assert db_session.scalar(select(func.count()).select_from(ChangeEvent).where(
        ChangeEvent.entity_type == "case")) == 1
    assert [item["type"] for item in later["items"]] == []
    assert later["next_cursor"] != first["next_cursor"]  # moved past the case's event
