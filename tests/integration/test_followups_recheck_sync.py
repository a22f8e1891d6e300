"""Rechecks pushed from terminals, the before photos in the pulled order, and who may read the
photos of an order's inspections and moves."""

import hashlib
import uuid

import pytest
from sqlalchemy import func, select

from server.models import Inspection, OrderMove, RectificationOrder
from server.services.followups.deadlines import load_rules
from server.services.followups.orders import issue_order
from server.services.inspections import submit_inspection
from tests.factories import inspection_data, jpeg_bytes
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    headers,
    issue,
    scene,
)
from tests.integration.test_followups_recheck import recheck_body
from tests.integration.test_sync_push import device_headers

INSPECTIONS = "/api/v1/inspections/"
ORDERS = "/api/v1/followups/orders/"
PHOTOS = {name: jpeg_bytes(seed) for seed, name in enumerate(("before", "reported", "after",
                                                                "cited"), start=40)}
SHA = {name: hashlib.sha256(data).hexdigest() for name, data in PHOTOS.items()}


def push(client, terminal, *records):
    response = client.post("/api/v1/sync/push", json={"records": list(records)},
                           headers=terminal)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def as_record(body):
    return {"type": "inspection", "client_uuid": body["client_uuid"], "data": body}


def test_a_pushed_recheck_moves_the_order_and_a_replay_moves_nothing(client, db_session, scene):
    order = issue(db_session, scene)
    terminal = device_headers(client, username="li", device_uid="li-term")
    record = as_record(recheck_body(db_session, order))
    [first] = push(client, terminal, record)
    [again] = push(client, terminal, record)
    assert (first["status"], again["status"]) == ("created", "duplicate"), first
    assert first["server_id"] == again["server_id"]
    db_session.expire_all()
    assert db_session.get(RectificationOrder, order.id).state == "passed"
    assert db_session.scalar(select(func.count(OrderMove.id))) == 2


def test_a_pushed_recheck_by_someone_not_assigned_is_rejected_alone(client, db_session, scene):
    order = issue(db_session, scene)
    terminal = device_headers(client, username="wang", device_uid="wang-term")
    recheck = as_record(recheck_body(db_session, order))
    patrol = inspection_data(db_session, scene.world.clinic)
    patrol = as_record({**patrol, "device_time": patrol["device_time"].isoformat()})
    refused, applied = push(client, terminal, recheck, patrol)
    assert (refused["status"], refused["code"]) == ("rejected", "not_assigned"), refused
    assert applied["status"] == "created", applied
    db_session.expire_all()
    assert db_session.get(RectificationOrder, order.id).state == "issued"
    assert db_session.scalar(select(func.count(Inspection.id)).where(
        Inspection.recheck_of_order_id.is_not(None))) == 0


def test_a_pushed_recheck_of_an_order_already_rechecked_is_a_conflict_naming_the_state(
        client, db_session, scene):
    order = issue(db_session, scene)
    terminal = device_headers(client, username="li", device_uid="li-term")
    first, second = push(client, terminal, as_record(recheck_body(db_session, order)),
                         as_record(recheck_body(db_session, order, {"MI-01": "non_compliant"})))
    assert first["status"] == "created"
    assert (second["status"], second["code"]) == ("conflict", "illegal_move"), second
    assert second["current"] == {"id": order.id, "state": "passed"}
    assert db_session.scalar(select(func.count(Inspection.id)).where(
        Inspection.recheck_of_order_id == order.id)) == 1


def test_the_pulled_order_carries_the_before_photos_of_each_finding(client, db_session, scene,
                                                                    headers):
    order = photographed_order(client, db_session, scene, headers)
    page = client.get("/api/v1/sync/pull?limit=1000", headers=headers["li"]).get_json()
    [pulled] = [item["data"] for item in page["items"] if item["type"] == "order"
                and item["id"] == order.id]
    assert [(f["item_code"], f["photos"]) for f in pulled["findings"]] == \
        [("MI-01", [SHA["before"]]), ("MI-04", [])]
    assert client.get(f"{ORDERS}{order.id}", headers=headers["li"]).get_json()["findings"] == \
        pulled["findings"]


def photographed_order(client, db_session, scene, headers):
    """An order from an inspection by li with a photo of MI-01, li's 'before'."""
    assert upload(client, headers["li"], "before").status_code == 201
    data = inspection_data(db_session, scene.world.clinic, conclusion="rectification_required")
    for item in data["items"]:
        if item["item_code"] in ("MI-01", "MI-04"):
            item.update(result="non_compliant", note="问题")
        if item["item_code"] == "MI-01":
            item["photos"] = [SHA["before"]]
    inspection, _ = submit_inspection(db_session, scene.li, data)
    order, _ = issue_order(db_session, scene.li, {
        "client_uuid": str(uuid.uuid4()), "inspection_id": inspection.id,
        "findings": ["MI-01", "MI-04"], "measures": "整改"}, rules=load_rules())
    return order


def upload(client, who, name):
    return client.put(f"/api/v1/photos/{SHA[name]}", data=PHOTOS[name], headers=who,
                      content_type="image/jpeg")


@pytest.fixture
def rechecked(client, db_session, scene, headers):
    """Before (li's inspection), reported (wang's move), after (li's recheck); 'cited' is named
    by chief's move without chief ever sending it (zhao holds it)."""
    order = photographed_order(client, db_session, scene, headers)
    assert upload(client, headers["wang"], "reported").status_code == 201
    assert upload(client, headers["zhao"], "cited").status_code == 201
    moved = client.post(f"{ORDERS}{order.id}/moves", headers=headers["wang"], json={
        "move": "report_rectified", "note": "已整改", "photos": [SHA["reported"]]})
    assert moved.status_code == 200, moved.get_json()
    assert upload(client, headers["li"], "after").status_code == 201
    body = recheck_body(db_session, order)
    body["items"][0]["photos"] = [SHA["after"]]
    assert client.post(INSPECTIONS, json=body, headers=headers["li"]).status_code == 201
    return order


def test_the_orders_scope_may_read_its_before_after_and_move_photos(client, rechecked, headers):
    for name in ("before", "reported", "after"):
        assert client.get(f"/api/v1/photos/{SHA[name]}",
                          headers=headers["chief"]).status_code == 200, name
        assert client.get(f"/api/v1/photos/{SHA[name]}/thumb",
                          headers=headers["chief"]).status_code == 200, name


def test_a_user_out_of_the_orders_scope_gets_404_for_its_photos(client, rechecked, headers):
    for name in ("before", "reported", "after"):
        assert client.get(f"/api/v1/photos/{SHA[name]}",
                          headers=headers["other_chief"]).status_code == 404, name


def test_a_move_citing_a_photo_its_maker_does_not_hold_grants_nothing(client, db_session, scene,
                                                                      rechecked, headers):
    order = issue(db_session, scene)
    moved = client.post(f"{ORDERS}{order.id}/moves", headers=headers["chief"], json={
        "move": "report_rectified", "note": "引用", "photos": [SHA["cited"]]})
    assert moved.status_code == 200, moved.get_json()
    assert client.get(f"/api/v1/photos/{SHA['cited']}", headers=headers["wang"]).status_code == 404


def test_the_side_by_side_view_lists_the_photos(client, rechecked, headers):
    view = client.get(f"{ORDERS}{rechecked.id}/recheck", headers=headers["chief"]).get_json()
    assert view["report_rectified"]["photos"] == [SHA["reported"]]
    first = view["findings"][0]
    assert (first["before"]["photos"], first["after"]["photos"]) == ([SHA["before"]], [SHA["after"]])
    last_move = client.get(f"{ORDERS}{rechecked.id}", headers=headers["chief"]).get_json()["moves"][-1]
    assert (last_move["move"], last_move["photos"]) == ("pass", [SHA["after"]])
    assert last_move["details"] == {"recheck_inspection_id": view["recheck_inspection_id"]}
