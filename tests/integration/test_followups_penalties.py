"""Penalties (行政处罚): recording, refusals, the recheck task and due dates across the holiday
calendar, publication once, the overdue list and the sweep, the decision document, pull."""

import io
import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine
from pypdf import PdfReader

from server.models import (
    AuditEvent,
    Notification,
    Penalty,
    PracticePoint,
    PremisesMeasure,
    Task,
)
from server.services.followups.escalation import load_rules as escalation_rules
from server.services.followups.escalation import sweep
from tests.factories import auth_headers, inspection_data
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    NOW,
    build_scene,
    headers,
    non_compliant_inspection,
    scene,
)

URL = "/api/v1/followups/penalties/"
OMIT = object()


def body(scene, **changes):
    return {"client_uuid": str(uuid.uuid4()), "decision_number": "乌卫罚〔2026〕12号",
            "decided_on": "2026-03-02", "type": "fine", "amount": "5000",
            "legal_basis": "《医疗机构管理条例》第四十七条", "facts": "超范围执业",
            "premises_id": scene.world.clinic.id, **changes}


def stored(db_session):
    db_session.expire_all()
    return tuple(db_session.query(model).count()
                 for model in (Penalty, Task, PracticePoint, PremisesMeasure))


def record(client, scene, headers, at=NOW, **changes):
    with time_machine.travel(at, tick=False):
        return client.post(URL, json=body(scene, **changes), headers=headers)


def open_case(client, scene, headers, inspection):
    with time_machine.travel(NOW, tick=False):
        response = client.post("/api/v1/followups/cases/", headers=headers["chief"], json={
            "client_uuid": str(uuid.uuid4()), "title": "超范围执业", "summary": "现场检查发现",
            "source": {"kind": "inspection", "id": inspection.id}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_supervisor_records_a_fine_with_its_recheck_task_and_publication_due(
        client, db_session, scene, headers):
    case_id = open_case(client, scene, headers, scene.inspection)
    response = record(client, scene, headers["chief"], inspection_id=scene.inspection.id,
                      case_id=case_id, amount="5000.5")
    assert response.status_code == 201, response.get_json()
    penalty = response.get_json()
    assert (penalty["type"], penalty["amount"], penalty["amount_fen"]) == ("fine", "5000.50",
                                                                           500050)
    assert penalty["type_label"] == {"zh": "罚款", "en": "Fine"}
    assert (penalty["inspection_id"], penalty["case_id"]) == (scene.inspection.id, case_id)
    with time_machine.travel(NOW, tick=False):
        case = client.get(f"/api/v1/followups/cases/{case_id}", headers=headers["chief"])
    assert case.get_json()["penalties"] == [{"id": penalty["id"], "decided_on": "2026-03-02",
                                             "decision_number": "乌卫罚〔2026〕12号",
                                             "type": "fine"}]
    # Monday 2 March: 30 calendar days to the recheck; 7 working days to the publication.
    assert (penalty["recheck_due"], penalty["publication_due"]) == ("2026-04-01", "2026-03-11")
    assert (penalty["publication_state"], penalty["publication_state_label"]) == \
        ("pending", {"zh": "待公示", "en": "Pending"})
    assert penalty["cell_id"] == scene.world.clinic.cell_id
    task = db_session.get(Task, penalty["recheck_task_id"])
    assert (task.kind, task.due_date, task.status, task.origin) == \
        ("post_penalty_recheck", date(2026, 4, 1), "open", f"penalty:{penalty['id']}")
    assert "乌卫罚〔2026〕12号" in task.note
    # A recheck is law enforcement: the officers on duty, not the coordinator (wang).
    assert sorted(u.username for u in task.assignees) == ["li"]
    assert db_session.query(AuditEvent).filter_by(action="penalty.record",
                                                  entity_id=str(penalty["id"])).count() == 1
    points = db_session.query(PracticePoint).one()
    assert (points.points, points.source_kind, points.source_id, points.rule) == \
        (6, "penalty", penalty["id"], "penalty:fine")


def test_publication_is_due_seven_working_days_on_over_the_spring_festival(client, db_session):
    # Thursday 12 February 2026: Fri 13, Sat 14 (adjusted), 15-23 off, 24-27, Sat 28 (adjusted).
    with time_machine.travel(datetime(2026, 2, 13, 2, 30, tzinfo=UTC), tick=False):
        scene = build_scene(db_session)
        response = client.post(URL, json=body(scene, decided_on="2026-02-12"),
                               headers=auth_headers(db_session, scene.world.chief))
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["publication_due"], response.get_json()["recheck_due"]) == \
        ("2026-02-28", "2026-03-14")


def test_the_recheck_days_come_from_the_config(app, client, db_session, scene, headers,
                                               monkeypatch):
    monkeypatch.setitem(app.config, "FOLLOWUPS_POST_PENALTY_RECHECK_DAYS", 10)
    response = record(client, scene, headers["chief"])
    assert response.get_json()["recheck_due"] == "2026-03-12"


def test_the_same_penalty_again_is_a_duplicate_other_content_a_conflict(client, db_session,
                                                                        scene, headers):
    sent = body(scene)
    with time_machine.travel(NOW, tick=False):
        first = client.post(URL, json=sent, headers=headers["chief"])
        again = client.post(URL, json=sent, headers=headers["chief"])
        other = client.post(URL, json={**sent, "amount": "6000"}, headers=headers["chief"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "uuid_conflict"
    assert stored(db_session)[:3] == (1, 1, 1)


def test_a_decision_number_is_recorded_once(client, db_session, scene, headers):
    assert record(client, scene, headers["chief"]).status_code == 201
    before = stored(db_session)
    again = record(client, scene, headers["admin"], type="warning", amount=None)
    assert again.status_code == 409, again.get_json()
    assert again.get_json()["error"]["code"] == "decision_number_taken"
    assert stored(db_session) == before


@pytest.mark.parametrize("changes, status, code", [
    ({"legal_basis": OMIT}, 422, "validation_failed"),
    ({"legal_basis": None}, 422, "validation_failed"),
    ({"legal_basis": "   "}, 422, "validation_failed"),
    ({"legal_basis": ""}, 422, "validation_failed"),
    ({"decision_number": " "}, 422, "validation_failed"),
    ({"type": "caution"}, 422, "validation_failed"),
    ({"amount": None}, 422, "amount_required"),
    ({"type": "confiscation", "amount": None}, 422, "amount_required"),
    ({"type": "warning"}, 422, "amount_refused"),
    ({"amount": "0"}, 422, "validation_failed"),
    ({"amount": "-5"}, 422, "validation_failed"),
    ({"amount": "12.345"}, 422, "validation_failed"),
    ({"amount": "NaN"}, 422, "validation_failed"),
    ({"amount": "1000000000.01"}, 422, "validation_failed"),
    ({"decided_on": "2026-03-03"}, 422, "decided_on_out_of_range"),
    ({"decided_on": "2025-03-01"}, 422, "decided_on_out_of_range"),
    ({"case_id": 0}, 422, "validation_failed"),
    ({"case_id": 2**31 - 1}, 404, "not_found"),
    ({"case_id": "foreign"}, 404, "not_found"),
    ({"case_id": "other_premises"}, 422, "case_other_premises"),
    ({"premises_id": "foreign"}, 404, "not_found"),
    ({"inspection_id": "foreign"}, 404, "not_found"),
    ({"inspection_id": "other_premises"}, 422, "inspection_other_premises"),
])
def test_bad_input_is_refused_and_nothing_is_stored(client, db_session, scene, headers, changes,
                                                    status, code):
    world = scene.world
    if changes.get("premises_id") == "foreign":
        changes["premises_id"] = world.foreign_clinic.id
    if changes.get("inspection_id") == "foreign":
        changes["inspection_id"] = non_compliant_inspection(db_session, world.admin,
                                                            world.foreign_clinic).id
    if changes.get("inspection_id") == "other_premises":
        from tests.factories import make_premises

        other = make_premises(db_session, world.admin, world.clinic.cell)
        changes["inspection_id"] = non_compliant_inspection(db_session, world.admin, other).id
    if changes.get("case_id") in ("foreign", "other_premises"):
        from server.models import Case

        place = world.foreign_clinic if changes["case_id"] == "foreign" else world.clinic
        if changes["case_id"] == "other_premises":
            from tests.factories import make_premises

            place = make_premises(db_session, world.admin, world.clinic.cell)
        case = Case(client_uuid=str(uuid.uuid4()), content_hash="0" * 64, number="测〔2026〕1号",
                    premises_id=place.id, cell_id=place.cell_id, source_kind="inspection",
                    source_id=scene.inspection.id, title="t", summary="s", stage="filing",
                    state="open", opened_by_id=world.admin.id, opened_on=date(2026, 3, 2))
        db_session.add(case)
        db_session.flush()
        changes["case_id"] = case.id
    sent = {key: value for key, value in body(scene, **changes).items() if value is not OMIT}
    before = stored(db_session)
    with time_machine.travel(NOW, tick=False):
        response = client.post(URL, json=sent, headers=headers["chief"])
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert stored(db_session) == before


def test_a_penalty_without_legal_basis_names_the_field(client, db_session, scene, headers):
    sent = body(scene)
    del sent["legal_basis"]
    with time_machine.travel(NOW, tick=False):
        response = client.post(URL, json=sent, headers=headers["chief"])
    assert response.status_code == 422
    assert "legal_basis" in response.get_json()["error"]["details"]["json"]


@pytest.mark.parametrize("who", ["li", "wang"])
def test_field_staff_cannot_record_penalties(client, db_session, scene, headers, who):
    before = stored(db_session)
    response = record(client, scene, headers[who])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "role_required"
    assert stored(db_session) == before


def test_penalties_are_seen_in_scope_only(client, db_session, scene, headers):
    penalty = record(client, scene, headers["chief"]).get_json()
    with time_machine.travel(NOW, tick=False):
        for who in ("chief", "li", "wang", "admin"):
            assert [p["id"] for p in client.get(URL, headers=headers[who]).get_json()] == \
                [penalty["id"]]
            assert client.get(f"{URL}{penalty['id']}", headers=headers[who]).status_code == 200
        for who in ("other_chief", "zhao"):
            assert client.get(URL, headers=headers[who]).get_json() == []
            assert client.get(f"{URL}{penalty['id']}", headers=headers[who]).status_code == 404
        pending = client.get(f"{URL}?publication_state=pending&type=fine",
                             headers=headers["chief"]).get_json()
        assert [p["id"] for p in pending] == [penalty["id"]]
        assert client.get(f"{URL}?type=warning", headers=headers["chief"]).get_json() == []


def test_the_inspection_that_completes_the_recheck_task_is_linked(client, db_session, scene,
                                                                  headers):
    penalty = record(client, scene, headers["chief"]).get_json()
    data = inspection_data(db_session, scene.world.clinic, task_id=penalty["recheck_task_id"])
    data["device_time"] = data["device_time"].isoformat()
    with time_machine.travel(datetime(2026, 3, 20, 2, 30, tzinfo=UTC), tick=False):
        sent = client.post("/api/v1/inspections/", json=data,
                           headers=auth_headers(db_session, scene.li))
        assert sent.status_code == 201, sent.get_json()
        after = client.get(f"{URL}{penalty['id']}",
                           headers=auth_headers(db_session, scene.world.chief)).get_json()
    assert after["recheck_inspection_id"] == sent.get_json()["inspection"]["id"]
    assert db_session.get(Task, penalty["recheck_task_id"]).status == "done"


def person(scene, name):
    world = scene.world
    return {"admin": world.admin, "chief": world.chief, "li": scene.li,
            "other_chief": world.other_chief}[name]


def publish(client, db_session, penalty, user, on="2026-03-05",
            at=datetime(2026, 3, 6, 2, 30, tzinfo=UTC)):
    with time_machine.travel(at, tick=False):
        return client.post(f"{URL}{penalty['id']}/publication",
                           json={"published_on": on, "where": "https://wjw.example.gov.cn/gs/1"},
                           headers=auth_headers(db_session, user))


def test_a_penalty_is_published_once(client, db_session, scene, headers):
    penalty = record(client, scene, headers["chief"]).get_json()
    first = publish(client, db_session, penalty, scene.world.chief)
    assert first.status_code == 200, first.get_json()
    assert (first.get_json()["publication_state"], first.get_json()["published_on"],
            first.get_json()["published_where"]) == \
        ("published", "2026-03-05", "https://wjw.example.gov.cn/gs/1")
    again = publish(client, db_session, penalty, scene.world.admin, on="2026-03-06")
    assert again.status_code == 409
    assert again.get_json()["error"] == {
        "code": "already_published", "message": again.get_json()["error"]["message"],
        "details": {"published_on": "2026-03-05"}}
    assert db_session.query(AuditEvent).filter_by(action="penalty.publish").count() == 1


@pytest.mark.parametrize("who, on, status, code", [
    ("li", "2026-03-05", 403, "role_required"),
    ("other_chief", "2026-03-05", 404, "not_found"),
    ("chief", "2026-03-01", 422, "published_on_out_of_range"),
    ("chief", "2026-03-07", 422, "published_on_out_of_range"),
])
def test_a_bad_publication_is_refused_and_nothing_changes(client, db_session, scene, headers,
                                                          who, on, status, code):
    penalty = record(client, scene, headers["chief"]).get_json()
    response = publish(client, db_session, penalty, person(scene, who), on=on)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    db_session.expire_all()
    assert db_session.get(Penalty, penalty["id"]).publication_state == "pending"


def test_a_pending_publication_is_overdue_and_the_sweep_tells_once(client, db_session, scene,
                                                                   headers):
    penalty = record(client, scene, headers["chief"]).get_json()  # due 11 March
    at = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        chief = auth_headers(db_session, scene.world.chief)
        items = client.get("/api/v1/followups/overdue?kind=penalty_publication",
                           headers=chief).get_json()
        assert [(i["kind"], i["id"], i["days_overdue"]) for i in items] == \
            [("penalty_publication", penalty["id"], 3)]
        assert items[0]["kind_label"] == {"zh": "处罚公示", "en": "Penalty publication"}
        assert [o["username"] for o in items[0]["owners"]] == ["liu"]
        elsewhere = client.get("/api/v1/followups/overdue",
                               headers=auth_headers(db_session, scene.world.other_chief))
        assert penalty["id"] not in [i["id"] for i in elsewhere.get_json()
                                     if i["kind"] == "penalty_publication"]
        first = sweep(db_session, None, rules=escalation_rules())
        told = db_session.query(Notification).filter_by(subject_kind="penalty_publication").all()
        assert {(n.kind, n.level, n.user_id) for n in told} == \
            {("escalation", "street", scene.world.chief.id)}
        assert first["escalations"] >= 1
        second = sweep(db_session, None, rules=escalation_rules())
        assert (second["reminders"], second["escalations"]) == (0, 0)
        assert db_session.query(Notification).filter_by(
            subject_kind="penalty_publication").count() == len(told)
    published = publish(client, db_session, penalty, scene.world.chief,
                        at=datetime(2026, 3, 14, 3, 0, tzinfo=UTC))
    assert published.status_code == 200, published.get_json()
    with time_machine.travel(at, tick=False):
        assert client.get("/api/v1/followups/overdue?kind=penalty_publication",
                          headers=auth_headers(db_session, scene.world.chief)).get_json() == []


def test_the_recorder_is_reminded_on_the_due_day(client, db_session, scene, headers):
    penalty = record(client, scene, headers["chief"]).get_json()
    with time_machine.travel(datetime(2026, 3, 11, 2, 30, tzinfo=UTC), tick=False):
        sweep(db_session, None, rules=escalation_rules())
    told = db_session.query(Notification).filter_by(subject_kind="penalty_publication",
                                                    subject_id=penalty["id"]).all()
    assert [(n.kind, n.level, n.user_id) for n in told] == \
        [("reminder", "before_0", scene.world.chief.id)]


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages)


def test_the_penalty_decision_document_is_issued_once_and_reads_the_decision(
        app, client, db_session, scene, headers, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_PENALTY_PREFIX", "乌卫罚决")
    monkeypatch.setitem(app.config, "DOCUMENT_OFFICE_NAME", "乌海市卫生健康综合监督执法局")
    penalty = record(client, scene, headers["chief"]).get_json()
    with time_machine.travel(NOW, tick=False):
        first = client.post(f"{URL}{penalty['id']}/document", headers=headers["chief"])
        again = client.post(f"{URL}{penalty['id']}/document", headers=headers["admin"])
        officer = client.post(f"{URL}{penalty['id']}/document", headers=headers["li"])
        foreign = client.post(f"{URL}{penalty['id']}/document", headers=headers["other_chief"])
    assert first.status_code == 201, first.get_json()
    document = first.get_json()
    assert (document["kind"], document["subject_kind"], document["subject_id"],
            document["order_id"]) == ("penalty_decision", "penalty", penalty["id"], None)
    assert document["number"] == "乌卫罚决〔2026〕第0001号"
    assert document["kind_label"] == {"zh": "行政处罚决定书", "en": "Administrative penalty decision"}
    assert (again.status_code, again.get_json()["id"]) == (200, document["id"])
    assert (officer.status_code, foreign.status_code) == (403, 404)
    with time_machine.travel(NOW, tick=False):
        pdf = client.get(f"/api/v1/followups/documents/{document['id']}.pdf",
                         headers=headers["wang"])
        hidden = client.get(f"/api/v1/followups/documents/{document['id']}.pdf",
                            headers=headers["zhao"])
    assert pdf.status_code == 200, pdf.get_data(as_text=True)[:300]
    text = pdf_text(pdf.data)
    for expected in ("行政处罚决定书", "乌卫罚决〔2026〕第0001号", "乌卫罚〔2026〕12号", "罚款",
                     "人民币5000.00元", "《医疗机构管理条例》第四十七条", scene.world.clinic.name,
                     "乌海市卫生健康综合监督执法局"):
        assert expected in text, expected
    assert hidden.status_code == 404


def test_the_public_verification_page_shows_the_publication_state(client, db_session, scene,
                                                                  headers):
    penalty = record(client, scene, headers["chief"]).get_json()
    with time_machine.travel(NOW, tick=False):
        document = client.post(f"{URL}{penalty['id']}/document",
                               headers=headers["chief"]).get_json()
        page = client.get(f"/verify/{document['verification_token']}")
    assert page.status_code == 200
    assert "行政处罚决定书" in page.get_data(as_text=True)
    assert "待公示" in page.get_data(as_text=True)


def test_terminals_pull_the_recheck_task_with_the_decision_number(client, db_session, scene,
                                                                  headers):
    penalty = record(client, scene, headers["chief"]).get_json()
    with time_machine.travel(NOW, tick=False):
        page = client.get("/api/v1/sync/pull?limit=1000", headers=headers["li"]).get_json()
        foreign = client.get("/api/v1/sync/pull?limit=1000", headers=headers["zhao"]).get_json()
    tasks = [item["data"] for item in page["items"] if item["type"] == "task"]
    assert [(t["id"], t["kind"]) for t in tasks] == [(penalty["recheck_task_id"],
                                                      "post_penalty_recheck")]
    assert "乌卫罚〔2026〕12号" in tasks[0]["note"]
    assert not [i for i in page["items"] if i["type"] not in ("cell", "premises", "task",
                                                              "checklist", "inspection_status")]
    assert penalty["recheck_task_id"] not in [i["id"] for i in foreign["items"]
                                              if i["type"] == "task"]
