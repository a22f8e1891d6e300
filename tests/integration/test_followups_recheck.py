"""Rechecks (整改复查): an inspection limited to an order's findings whose outcome moves the order."""

import pytest
from sqlalchemy import func, select

from server.models import (
    AuditEvent,
    ChangeEvent,
    Inspection,
    OrderMove,
    RectificationOrder,
    Task,
)
from tests.factories import assign, auth_headers, inspection_data, make_premises, make_user
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    FINDINGS,
    headers,
    issue,
    scene,
)

INSPECTIONS = "/api/v1/inspections/"
ORDERS = "/api/v1/followups/orders/"


def recheck_body(db_session, order, results=None, *, kind="recheck", conclusion=None, **extra):
    """A recheck of the order: each finding compliant unless results say otherwise."""
    results = results or {}
    items = []
    for finding in order.findings:
        code = finding["item_code"]
        result = results.get(code, "compliant")
        items.append({"item_code": code, "result": result, "photos": [],
                      "note": "仍未整改" if result == "non_compliant" else ""})
    if conclusion is None:
        conclusion = "compliant" if all(i["result"] == "compliant" for i in items) \
            else "rectification_required"
    data = inspection_data(db_session, order.premises, kind=kind, task_id=order.task_id,
                           conclusion=conclusion, **extra)
    data["items"] = extra.get("items", items)
    return {**data, "device_time": data["device_time"].isoformat()}


def stored(db_session, order):
    """What a refused recheck must leave as it was."""
    db_session.expire_all()
    return {"inspections": db_session.scalar(select(func.count(Inspection.id))),
            "state": db_session.get(RectificationOrder, order.id).state,
            "task": db_session.get(Task, order.task_id).status,
            "moves": db_session.scalar(select(func.count(OrderMove.id)))}


def moves_of(db_session, order):
    db_session.expire_all()
    return [(m.move, m.from_state, m.to_state, m.details) for m in db_session.scalars(
        select(OrderMove).where(OrderMove.order_id == order.id).order_by(OrderMove.id))]


def test_a_compliant_recheck_passes_the_order_in_the_same_request(client, db_session, scene,
                                                                  headers):
    order = issue(db_session, scene)
    response = client.post(INSPECTIONS, json=recheck_body(db_session, order), headers=headers["li"])
    assert response.status_code == 201, response.get_json()
    inspection = response.get_json()["inspection"]
    assert (inspection["kind"], inspection["recheck_of_order_id"]) == ("recheck", order.id)
    assert inspection["kind_label"] == {"zh": "整改复查", "en": "Rectification recheck"}
    assert [i["item_code"] for i in inspection["items"]] == ["MI-01", "MI-04"]
    details = {"recheck_inspection_id": inspection["id"]}
    assert moves_of(db_session, order) == [("start_recheck", "issued", "recheck_due", details),
                                           ("pass", "recheck_due", "passed", details)]
    assert db_session.get(RectificationOrder, order.id).state == "passed"
    assert db_session.get(Task, order.task_id).status == "done"
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "rectification_order").order_by(AuditEvent.id)).all()
    assert actions == ["order.issue", "order.start_recheck", "order.pass"]
    assert db_session.scalar(select(func.count(ChangeEvent.seq)).where(
        ChangeEvent.entity_type == "order", ChangeEvent.entity_id == str(order.id))) == 3


def test_a_finding_still_non_compliant_fails_the_order_with_its_note_and_photos(
        client, db_session, scene, headers):
    order = issue(db_session, scene)
    body = recheck_body(db_session, order, {"MI-04": "non_compliant"})
    body["items"][1]["photos"] = ["ab" * 32]
    response = client.post(INSPECTIONS, json=body, headers=headers["li"])
    assert response.status_code == 201, response.get_json()
    db_session.expire_all()
    order = db_session.get(RectificationOrder, order.id)
    assert order.state == "failed"
    fail = order.moves[-1]
    assert (fail.move, fail.photos) == ("fail", ["ab" * 32])
    assert "MI-04: 仍未整改" in fail.note


def test_an_order_reported_rectified_or_due_moves_from_where_it_is(client, db_session, scene,
                                                                   headers):
    reported, due = issue(db_session, scene), issue(db_session, scene)
    for order, move in ((reported, "report_rectified"), (due, "start_recheck")):
        answer = client.post(f"{ORDERS}{order.id}/moves", json={"move": move, "note": "已整改"},
                             headers=headers["li"])
        assert answer.status_code == 200, answer.get_json()
    for order in (reported, due):
        response = client.post(INSPECTIONS, json=recheck_body(db_session, order),
                               headers=headers["li"])
        assert response.status_code == 201, response.get_json()
    assert [m[:3] for m in moves_of(db_session, reported)] == [
        ("report_rectified", "issued", "reported_rectified"),
        ("start_recheck", "reported_rectified", "recheck_due"), ("pass", "recheck_due", "passed")]
    assert [m[:3] for m in moves_of(db_session, due)] == [
        ("start_recheck", "issued", "recheck_due"), ("pass", "recheck_due", "passed")]


@pytest.mark.parametrize("change, problem", [
    (lambda items, full: full, {"extra"}),  # the whole checklist
    (lambda items, full: items[:1], {"missing"}),
    (lambda items, full: items + [{**items[0], "item_code": "MI-02"}], {"extra", "MI-02"}),
    (lambda items, full: [{**items[0], "result": "not_applicable"}, items[1]], {"MI-01"}),
    (lambda items, full: [{**items[0], "result": "non_compliant", "note": ""}, items[1]],
     {"MI-01"}),
])
def test_items_other_than_exactly_the_findings_are_refused_and_nothing_is_stored(
        client, db_session, scene, headers, change, problem):
    order = issue(db_session, scene)
    before = stored(db_session, order)
    body = recheck_body(db_session, order)
    full = inspection_data(db_session, order.premises)["items"]
    body["items"] = change(body["items"], full)
    body["conclusion"] = "compliant" if all(i["result"] == "compliant" for i in body["items"]) \
        else "rectification_required"
    response = client.post(INSPECTIONS, json=body, headers=headers["li"])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "items_invalid"
    assert problem <= set(error["details"]["items"]), error
    assert stored(db_session, order) == before


def test_the_missing_and_extra_codes_are_named(client, db_session, scene, headers):
    order = issue(db_session, scene)
    body = recheck_body(db_session, order)
    body["items"] = [body["items"][0], {**body["items"][0], "item_code": "MI-02"}]
    error = client.post(INSPECTIONS, json=body, headers=headers["li"]).get_json()["error"]
    assert error["details"]["items"]["missing"] == ["MI-04"]
    assert error["details"]["items"]["extra"] == ["MI-02"]


def test_a_conclusion_contradicting_the_results_is_refused(client, db_session, scene, headers):
    order = issue(db_session, scene)
    before = stored(db_session, order)
    body = recheck_body(db_session, order, {"MI-01": "non_compliant"}, conclusion="compliant")
    response = client.post(INSPECTIONS, json=body, headers=headers["li"])
    assert (response.status_code, response.get_json()["error"]["code"]) == \
        (422, "conclusion_mismatch")
    assert stored(db_session, order) == before


def test_the_kind_must_be_recheck_for_a_recheck_task_and_only_for_one(client, db_session, scene,
                                                                      headers):
    order = issue(db_session, scene)
    before = stored(db_session, order)
    patrol = client.post(INSPECTIONS, json=recheck_body(db_session, order, kind="patrol"),
                         headers=headers["li"])
    assert (patrol.status_code, patrol.get_json()["error"]["code"]) == (422, "recheck_kind")
    loose = inspection_data(db_session, scene.world.clinic, kind="recheck")
    loose["device_time"] = loose["device_time"].isoformat()
    alone = client.post(INSPECTIONS, json=loose, headers=headers["li"])
    assert (alone.status_code, alone.get_json()["error"]["code"]) == (422, "recheck_kind")
    assert stored(db_session, order) == before


def test_someone_not_assigned_is_refused_not_assigned_and_nothing_is_stored(client, db_session,
                                                                           scene, headers):
    order = issue(db_session, scene)
    # A second officer of the district, assigned after the task was made: not on it.
    newcomer = make_user(db_session, "officer", "newcomer")
    assign(db_session, scene.world.admin, newcomer, scene.world.grid.cells["D1"])
    before = stored(db_session, order)
    for who in (headers["wang"], auth_headers(db_session, newcomer)):
        response = client.post(INSPECTIONS, json=recheck_body(db_session, order), headers=who)
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["error"]["code"] == "not_assigned"
    assert stored(db_session, order) == before
    # Out of scope it is not found at all.
    foreign = client.post(INSPECTIONS, json=recheck_body(db_session, order),
                          headers=headers["zhao"])
    assert foreign.status_code == 404
    assert stored(db_session, order) == before


def test_a_supervisor_over_the_cell_may_recheck(client, db_session, scene, headers):
    order = issue(db_session, scene)
    response = client.post(INSPECTIONS, json=recheck_body(db_session, order),
                           headers=headers["chief"])
    assert response.status_code == 201, response.get_json()
    assert stored(db_session, order)["state"] == "passed"


def test_a_recheck_of_an_order_no_longer_open_is_illegal_move_and_nothing_is_stored(
        client, db_session, scene, headers):
    order = issue(db_session, scene)
    for move in ({"move": "start_recheck"}, {"move": "fail", "note": "现场复查不合格"}):
        assert client.post(f"{ORDERS}{order.id}/moves", json=move,
                           headers=headers["li"]).status_code == 200
    before = stored(db_session, order)
    response = client.post(INSPECTIONS, json=recheck_body(db_session, order),
                           headers=headers["li"])
    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "illegal_move"
    assert (error["details"]["state"], error["details"]["order_id"]) == ("failed", order.id)
    assert stored(db_session, order) == before


def test_a_second_recheck_after_the_first_won_is_refused(client, db_session, scene, headers):
    order = issue(db_session, scene)
    assert client.post(INSPECTIONS, json=recheck_body(db_session, order),
                       headers=headers["li"]).status_code == 201
    before = stored(db_session, order)
    again = client.post(INSPECTIONS, json=recheck_body(db_session, order, {"MI-01": "non_compliant"}),
                        headers=headers["li"])
    assert (again.status_code, again.get_json()["error"]["details"]["state"]) == (409, "passed")
    assert stored(db_session, order) == before


def test_another_premises_task_is_refused(client, db_session, scene, headers):
    order = issue(db_session, scene)
    neighbour = make_premises(db_session, scene.world.admin, scene.world.clinic.cell)
    before = stored(db_session, order)
    body = recheck_body(db_session, order)
    body["premises_id"] = neighbour.id
    response = client.post(INSPECTIONS, json=body, headers=headers["li"])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"] == {"task_id": ["other premises"]}
    assert stored(db_session, order) == before


def test_the_same_recheck_sent_again_is_a_duplicate_and_moves_nothing(client, db_session, scene,
                                                                      headers):
    order = issue(db_session, scene)
    body = recheck_body(db_session, order)
    first = client.post(INSPECTIONS, json=body, headers=headers["li"])
    again = client.post(INSPECTIONS, json=body, headers=headers["li"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["status"] == "duplicate"
    assert len(moves_of(db_session, order)) == 2


def test_a_correction_keeps_the_outcome_and_moves_nothing(client, db_session, scene, headers):
    order = issue(db_session, scene)
    first = client.post(INSPECTIONS, json=recheck_body(db_session, order), headers=headers["li"])
    recheck_id = first.get_json()["inspection"]["id"]
    same = {**recheck_body(db_session, order, findings="补充说明"), "reason": "补记"}
    fixed = client.post(f"{INSPECTIONS}{recheck_id}/revisions", json=same, headers=headers["li"])
    assert fixed.status_code == 201, fixed.get_json()
    assert fixed.get_json()["inspection"]["recheck_of_order_id"] == order.id
    assert len(moves_of(db_session, order)) == 2
    other = {**recheck_body(db_session, order, {"MI-01": "non_compliant"}), "reason": "改判"}
    latest = fixed.get_json()["inspection"]["id"]
    refused = client.post(f"{INSPECTIONS}{latest}/revisions", json=other, headers=headers["li"])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == \
        (409, "recheck_outcome_final")


def test_the_side_by_side_view_shows_before_and_after(client, db_session, scene, headers):
    order = issue(db_session, scene)
    client.post(f"{ORDERS}{order.id}/moves", headers=headers["wang"],
                json={"move": "report_rectified", "note": "店主称已整改"})
    view = client.get(f"{ORDERS}{order.id}/recheck", headers=headers["wang"])
    assert view.status_code == 200, view.get_json()
    before = view.get_json()
    assert (before["state"], before["recheck_inspection_id"], before["outcome"]) == \
        ("reported_rectified", None, None)
    assert before["report_rectified"]["note"] == "店主称已整改"
    assert [(f["item_code"], f["before"]["result"], f["before"]["note"], f["after"])
            for f in before["findings"]] == [("MI-01", "non_compliant", FINDINGS["MI-01"], None),
                                             ("MI-04", "non_compliant", FINDINGS["MI-04"], None)]
    assert before["findings"][0]["legal_basis"] and before["findings"][0]["severity"] == "key"
    response = client.post(INSPECTIONS, json=recheck_body(db_session, order, {"MI-04": "non_compliant"}),
                           headers=headers["li"])
    after = client.get(f"{ORDERS}{order.id}/recheck", headers=headers["chief"]).get_json()
    assert after["recheck_inspection_id"] == response.get_json()["inspection"]["id"]
    assert (after["state"], after["outcome"], after["rechecked_by"]["id"]) == \
        ("failed", "fail", scene.li.id)
    assert [(f["after"]["result"], f["after"]["note"]) for f in after["findings"]] == \
        [("compliant", ""), ("non_compliant", "仍未整改")]
    assert after["findings"][1]["after"]["result_label"] == {"zh": "不符合", "en": "Non-compliant"}


def test_the_side_by_side_view_is_scoped_like_the_order(client, db_session, scene, headers):
    order = issue(db_session, scene)
    assert client.get(f"{ORDERS}{order.id}/recheck", headers=headers["zhao"]).status_code == 404
    assert client.get(f"{ORDERS}{order.id}/recheck",
                      headers=headers["other_chief"]).status_code == 404
    assert client.get(f"{ORDERS}{10**6}/recheck", headers=headers["admin"]).status_code == 404


def test_recheck_tasks_go_to_the_officers_who_may_pass_and_fail(db_session, scene):
    order = issue(db_session, scene)
    assert [u.username for u in db_session.get(Task, order.task_id).assignees] == ["li"]


def test_two_orders_and_the_task_of_the_other_one(client, db_session, scene, headers):
    """A recheck names its own order's task: the other order's task is that order's recheck."""
    first, second = issue(db_session, scene), issue(db_session, scene, findings=["MI-01"])
    body = recheck_body(db_session, first)
    body["task_id"] = second.task_id
    response = client.post(INSPECTIONS, json=body, headers=headers["li"])
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["items"]["extra"] == ["MI-04"]
    assert db_session.get(RectificationOrder, second.id).state == "issued"
