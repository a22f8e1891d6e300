"""Issuing rectification orders: findings, deadlines, idempotency, scope, pull and push."""

import uuid
from datetime import UTC, date, datetime

import time_machine

from server.models import AuditEvent, ChangeEvent, RectificationOrder, Task, WorkingCalendar
from tests.factories import auth_headers
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    build_scene,
    headers,
    issue,
    scene,
)
from tests.integration.test_sync_push import device_headers

URL = "/api/v1/followups/orders/"


def body(scene, **changes):
    return {"client_uuid": str(uuid.uuid4()), "inspection_id": scene.inspection.id,
            "findings": ["MI-01", "MI-04"], "measures": "补办许可证；护士持证上岗", **changes}


def stored(db_session):
    db_session.expire_all()
    return (db_session.query(RectificationOrder).count(), db_session.query(Task).count())


def test_an_officer_issues_an_order_with_the_earliest_rule_deadline_and_a_recheck_task(
        client, db_session, scene, headers):
    with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
        response = client.post(URL, json=body(scene), headers=headers["li"])
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    # The key finding (3 working days) wins over the major one (15): Monday → Thursday.
    assert (order["deadline"], order["deadline_source"], order["state"]) == \
        ("2026-03-05", "rules", "issued")
    assert order["state_label"] == {"zh": "已下达", "en": "Issued"}
    assert [f["item_code"] for f in order["findings"]] == ["MI-01", "MI-04"]
    assert order["findings"][0]["legal_basis"] and order["findings"][0]["note"] == "执业许可证过期"
    assert order["cell_id"] == scene.world.clinic.cell_id
    task = db_session.get(Task, order["task_id"])
    assert (task.kind, task.due_date, task.status, task.origin) == \
        ("rectification_recheck", date(2026, 3, 5), "open", f"order:{order['id']}")
    # The cell's officers on duty (li, of the district): a recheck is law enforcement, and
    # coordinators (wang, of the cell) may not pass or fail it (order_transitions.json).
    assert sorted(u.username for u in task.assignees) == ["li"]
    assert db_session.query(AuditEvent).filter_by(action="order.issue",
                                                  entity_id=str(order["id"])).count() == 1
    assert db_session.query(ChangeEvent).filter_by(entity_type="order",
                                                   entity_id=str(order["id"])).count() == 1


def test_the_deadline_counts_over_the_spring_festival(client, db_session):
    # Thursday 12 February 2026: Fri 13, Sat 14 (adjusted working day), then 15-23 off.
    with time_machine.travel(datetime(2026, 2, 12, 2, 30, tzinfo=UTC), tick=False):
        scene = build_scene(db_session)
        response = client.post(URL, json=body(scene, findings=["MI-01"]),
                               headers=auth_headers(db_session, scene.li))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["deadline"] == "2026-02-24"


def test_a_deadline_into_a_year_without_a_calendar_is_refused(client, db_session, scene):
    db_session.delete(db_session.get(WorkingCalendar, 2027))
    db_session.flush()
    before = stored(db_session)
    with time_machine.travel(datetime(2026, 12, 28, 2, 30, tzinfo=UTC), tick=False):
        response = client.post(URL, json=body(scene, findings=["MI-10"]),
                               headers=auth_headers(db_session, scene.li))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "calendar_missing"
    assert response.get_json()["error"]["details"] == {"year": 2027}
    assert stored(db_session) == before


def test_the_same_order_again_is_a_duplicate_other_content_a_conflict(client, db_session, scene,
                                                                      headers):
    sent = body(scene)
    first = client.post(URL, json=sent, headers=headers["li"])
    again = client.post(URL, json=sent, headers=headers["li"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    before = stored(db_session)
    other = client.post(URL, json={**sent, "measures": "别的内容"}, headers=headers["li"])
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "uuid_conflict"
    assert stored(db_session) == before


def test_findings_that_are_not_non_compliant_are_refused_naming_them(client, db_session, scene,
                                                                     headers):
    before = stored(db_session)
    response = client.post(URL, json=body(scene, findings=["MI-01", "MI-02", "XX-99"]),
                           headers=headers["li"])
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "findings_not_non_compliant"
    assert error["details"] == {"findings": ["MI-02", "XX-99"]}
    assert stored(db_session) == before


def test_an_explicit_deadline_must_be_from_today_to_a_year_ahead(client, db_session, scene,
                                                                 headers):
    before = stored(db_session)
    with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
        for deadline in ("2026-03-01", "2027-03-03"):
            response = client.post(URL, json=body(scene, deadline=deadline), headers=headers["li"])
            assert response.status_code == 422, (deadline, response.get_json())
            assert response.get_json()["error"]["code"] == "deadline_out_of_range"
        assert stored(db_session) == before
        for deadline in ("2026-03-02", "2027-03-02"):
            response = client.post(URL, json=body(scene, deadline=deadline), headers=headers["li"])
            assert response.status_code == 201, (deadline, response.get_json())
            assert response.get_json()["deadline_source"] == "explicit"


def test_a_coordinator_may_not_issue_an_order(client, db_session, scene, headers):
    before = stored(db_session)
    response = client.post(URL, json=body(scene), headers=headers["wang"])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "role_required"
    assert stored(db_session) == before


def test_an_order_from_a_corrected_inspection_is_refused(client, db_session, scene, headers):
    from server.services.inspections import correct_inspection
    from tests.factories import inspection_data

    data = inspection_data(db_session, scene.world.clinic)
    correct_inspection(db_session, scene.li, scene.inspection.id, data, reason="录错了")
    response = client.post(URL, json=body(scene), headers=headers["li"])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "inspection_corrected"


def test_orders_outside_the_scope_are_not_found(client, db_session, scene, headers):
    order = issue(db_session, scene)
    for name in ("zhao", "other_chief"):
        one = client.get(f"{URL}{order.id}", headers=headers[name])
        assert one.status_code == 404 and one.get_json()["error"]["code"] == "not_found"
        moved = client.post(f"{URL}{order.id}/moves", json={"move": "report_rectified",
                                                            "note": "x"}, headers=headers[name])
        assert moved.status_code == 404
        assert client.get(URL, headers=headers[name]).get_json() == []
    db_session.refresh(order)
    assert order.state == "issued"
    assert client.get(f"{URL}{order.id}", headers=headers["wang"]).status_code == 200


def test_the_list_filters_by_state_and_premises_and_pages(client, db_session, scene, headers):
    first, second = issue(db_session, scene), issue(db_session, scene)
    db_session.execute(RectificationOrder.__table__.update().where(
        RectificationOrder.id == second.id).values(state="recheck_due"))
    listed = client.get(f"{URL}?state=recheck_due", headers=headers["chief"]).get_json()
    assert [o["id"] for o in listed] == [second.id]
    by_premises = client.get(f"{URL}?premises_id={scene.world.clinic.id}&limit=1&offset=1",
                             headers=headers["chief"]).get_json()
    assert [o["id"] for o in by_premises] == [second.id]
    assert client.get(f"{URL}?premises_id={scene.world.foreign_clinic.id}",
                      headers=headers["admin"]).get_json() == []
    assert first.id < second.id


def test_the_order_and_its_recheck_task_reach_the_cells_terminals(client, db_session, scene,
                                                                  headers):
    order = issue(db_session, scene)
    page = client.get("/api/v1/sync/pull?limit=1000", headers=headers["wang"]).get_json()
    orders = [item for item in page["items"] if item["type"] == "order"]
    assert [item["id"] for item in orders] == [order.id]
    assert [f["item_code"] for f in orders[0]["data"]["findings"]] == ["MI-01", "MI-04"]
    # The recheck task goes to the officers (li), not to the cell's coordinator.
    assert [item for item in page["items"] if item["type"] == "task"] == []
    officer = client.get("/api/v1/sync/pull?limit=1000", headers=headers["li"]).get_json()
    tasks = [item["data"]["kind"] for item in officer["items"] if item["type"] == "task"]
    assert tasks == ["rectification_recheck"]
    cursor, scope = page["next_cursor"], page["scope"]
    # A move reaches them by the feed; the other cell's terminal never sees the order.
    client.post(f"{URL}{order.id}/moves", json={"move": "report_rectified", "note": "已整改"},
                headers=headers["wang"])
    later = client.get(f"/api/v1/sync/pull?cursor={cursor}&scope={scope}",
                       headers=headers["wang"]).get_json()
    assert [(i["type"], i["data"]["state"]) for i in later["items"] if i["type"] == "order"] == \
        [("order", "reported_rectified")]
    foreign = client.get("/api/v1/sync/pull?limit=1000", headers=headers["zhao"]).get_json()
    assert [item for item in foreign["items"] if item["type"] == "order"] == []


def test_an_order_pushed_twice_is_created_once(client, db_session, scene):
    with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
        terminal = device_headers(client, username="li", device_uid="li-term")
        sent = body(scene)
        record = {"type": "order", "client_uuid": sent["client_uuid"], "data": sent}
        first = client.post("/api/v1/sync/push", json={"records": [record]}, headers=terminal)
        again = client.post("/api/v1/sync/push", json={"records": [record]}, headers=terminal)
    first_result, again_result = first.get_json()["results"][0], again.get_json()["results"][0]
    assert (first_result["status"], again_result["status"]) == ("created", "duplicate"), first_result
    assert first_result["server_id"] == again_result["server_id"]
    db_session.expire_all()
    order = db_session.get(RectificationOrder, first_result["server_id"])
    assert (order.device_id, order.deadline) == ("li-term", date(2026, 3, 5))
    assert db_session.query(RectificationOrder).count() == 1


def test_a_pushed_order_with_bad_findings_is_rejected_alone(client, db_session, scene):
    terminal = device_headers(client, username="li", device_uid="li-term")
    sent = body(scene, findings=["MI-02"])
    record = {"type": "order", "client_uuid": sent["client_uuid"], "data": sent}
    result = client.post("/api/v1/sync/push", json={"records": [record]},
                         headers=terminal).get_json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "findings_not_non_compliant")
    assert result["reasons"] == {"findings": ["MI-02"]}
    assert db_session.query(RectificationOrder).count() == 0


def test_an_order_written_offline_names_the_visits_inspection_by_its_client_uuid(
        client, db_session, scene):
    """Inspection and order are made on site without a network: the order cannot know the
    inspection's server id, so it names its client UUID; one push carries both, in order."""
    from tests.factories import inspection_data

    world = scene.world
    with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
        terminal = device_headers(client, username="li", device_uid="li-term")
        visit = inspection_data(db_session, world.clinic, conclusion="rectification_required")
        visit["items"][0].update(result="non_compliant", note="许可证过期")
        code = visit["items"][0]["item_code"]
        visit["device_time"] = visit["device_time"].isoformat()
        order = {"client_uuid": str(uuid.uuid4()), "inspection_client_uuid": visit["client_uuid"],
                 "findings": [code], "measures": "补办许可证"}
        records = [{"type": "inspection", "client_uuid": visit["client_uuid"], "data": visit},
                   {"type": "order", "client_uuid": order["client_uuid"], "data": order}]
        first = client.post("/api/v1/sync/push", json={"records": records}, headers=terminal)
        again = client.post("/api/v1/sync/push", json={"records": records}, headers=terminal)
    results = first.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "created"], results
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate", "duplicate"]
    db_session.expire_all()
    stored_order = db_session.get(RectificationOrder, results[1]["server_id"])
    assert stored_order.inspection_id == results[0]["server_id"]
    assert [f["item_code"] for f in stored_order.findings] == [code]
    assert db_session.query(RectificationOrder).count() == 1


def test_an_order_naming_an_inspection_not_synced_or_not_its_own_is_rejected(client, db_session,
                                                                             scene):
    from tests.integration.followups_scene import non_compliant_inspection

    with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
        admins = non_compliant_inspection(db_session, scene.world.admin, scene.world.clinic)
        before = stored(db_session)
        terminal = device_headers(client, username="li", device_uid="li-term")
        records = [{"type": "order", "client_uuid": str(uuid.uuid4()), "data": {
            "inspection_client_uuid": named, "findings": ["MI-01"], "measures": "整改"}}
            for named in (str(uuid.uuid4()), admins.client_uuid, "a\x00b", 7)]
        both = body(scene, inspection_client_uuid=scene.inspection.client_uuid)
        records.append({"type": "order", "client_uuid": both["client_uuid"], "data": both})
        results = client.post("/api/v1/sync/push", json={"records": records},
                              headers=terminal).get_json()["results"]
    # Unknown, another user's (the admin's: not li's to name by its UUID), a NUL, not a string;
    # and both ways of naming it at once.
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "inspection_not_synced")] * 4 + [("rejected", "validation_failed")]
    assert stored(db_session) == before


def test_the_orders_list_reads_related_rows_per_page_not_per_order(client, db_session, scene,
                                                                    headers, app):
    """Each order shows its premises, moves and the issuing inspection's photos: loaded for
    the page in one query each, so a page of many orders costs what a page of one does."""
    from sqlalchemy import event

    from server.extensions import db

    def statements(limit):
        seen = []

        def count(*args):
            seen.append(1)
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
                response = client.get(URL, query_string={"limit": limit},
                                      headers=headers["chief"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200 and len(response.get_json()) == limit
        return len(seen)

    with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
        for _ in range(5):
            issue(db_session, scene)
    assert statements(5) == statements(1)
