"""Complaints (投诉举报): intake, routing to a cell and its staff, the whole grid's queue,
verification, feedback once, scope."""

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from server.models import AuditEvent, ChangeEvent, Complainant, Complaint, Task
from tests.factories import (
    assign,
    auth_headers,
    load_calendars,
    make_premises,
    make_user,
)

BASE = "/api/v1/followups/complaints/"
VALID_ID = "11010519491231002X"


@pytest.fixture(autouse=True)
def calendars(db_session):
    """The shipped working-day calendars: intake counts the feedback due day on them."""
    load_calendars(db_session)


def complaint_body(**overrides):
    body = {"channel": "phone", "category_code": "public_place_hygiene",
            "content": "浴室毛巾不消毒", "address": "乌海市测试路2号", "anonymous": False,
            "complainant": {"name": "张三", "phone": "13800138000", "id_number": VALID_ID}}
    return {**body, **overrides}


def inside(cell):
    point = to_shape(cell.geom).representative_point()
    return {"lon": point.x, "lat": point.y}


def counts(db_session):
    db_session.expire_all()
    return tuple(db_session.scalar(select(func.count()).select_from(model))
                 for model in (Complaint, Complainant, Task, AuditEvent))


@pytest.fixture
def city(db_session, world):
    """A supervisor of both districts: the whole grid."""
    user = make_user(db_session, "supervisor", "city")
    for code in ("D1", "D2"):
        assign(db_session, world.admin, user, world.grid.cells[code])
    return user


def post(client, headers, path, body):
    return client.post(BASE + path, json=body, headers=headers)


def test_intake_with_a_premises_goes_to_its_cell_and_its_staff_get_the_task(client, db_session,
                                                                           world):
    response = post(client, auth_headers(db_session, world.chief), "",
                    complaint_body(premises_id=world.clinic.id))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["cell_id"] == world.clinic.cell_id
    assert data["status"] == "verifying"
    assert data["status_label"] == {"zh": "核查中", "en": "Verifying"}
    assert data["channel_label"] == {"zh": "电话", "en": "Phone"}
    assert data["category_label"] == {"zh": "公共场所卫生", "en": "Public place hygiene"}
    task = db_session.get(Task, data["task_id"])
    assert (task.kind, task.premises_id, task.status) == ("complaint_verification",
                                                         world.clinic.id, "open")
    assert [u.id for u in task.assignees] == [world.wang.id]
    assert task.origin == f"complaint:{data['id']}"
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type.in_(("complaint", "task")))).all()
    assert sorted(actions) == ["complaint.intake", "task.create"]
    events = db_session.scalars(select(ChangeEvent).where(
        ChangeEvent.entity_type == "complaint")).all()
    assert [(e.entity_id, e.cell_id) for e in events] == [(str(data["id"]), world.clinic.cell_id)]


def test_intake_by_location_goes_to_the_cell_and_waits_for_a_premises(client, db_session, world):
    cell = world.grid.cells["D1001002"]
    neighbour = make_user(db_session, "coordinator", "sun")
    assign(db_session, world.admin, neighbour, cell)
    headers = auth_headers(db_session, world.chief)
    response = post(client, headers, "", complaint_body(**inside(cell), address=""))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert (data["cell_id"], data["status"], data["task_id"]) == (cell.id, "received", None)
    queue = client.get(BASE, query_string={"awaiting_premises": "true"}, headers=headers)
    assert [c["id"] for c in queue.get_json()] == [data["id"]]
    # Field staff verify what they are given a task for: nothing yet.
    assert client.get(BASE + str(data["id"]),
                      headers=auth_headers(db_session, neighbour)).status_code == 404

    premises = make_premises(db_session, world.admin, cell)
    routed = post(client, headers, f"{data['id']}/route", {"premises_id": premises.id})
    assert routed.status_code == 200, routed.get_json()
    assert routed.get_json()["status"] == "verifying"
    task = db_session.get(Task, routed.get_json()["task_id"])
    assert [u.id for u in task.assignees] == [neighbour.id]
    assert client.get(BASE, query_string={"awaiting_premises": "true"},
                      headers=headers).get_json() == []
    assert client.get(BASE + str(data["id"]),
                      headers=auth_headers(db_session, neighbour)).status_code == 200


def test_an_unroutable_complaint_waits_on_the_whole_grids_queue(client, db_session, world, city):
    response = post(client, auth_headers(db_session, world.admin), "", complaint_body())
    assert response.status_code == 201
    complaint_id = response.get_json()["id"]
    assert response.get_json()["cell_id"] is None
    city_headers = auth_headers(db_session, city)
    queue = client.get(BASE + "unrouted", headers=city_headers)
    assert [c["id"] for c in queue.get_json()] == [complaint_id]
    chief = auth_headers(db_session, world.chief)
    refused = client.get(BASE + "unrouted", headers=chief)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "whole_grid_required")
    assert client.get(BASE + str(complaint_id), headers=chief).status_code == 404

    routed = post(client, city_headers, f"{complaint_id}/route", {"premises_id": world.clinic.id})
    assert routed.status_code == 200, routed.get_json()
    assert routed.get_json()["cell_id"] == world.clinic.cell_id
    task = db_session.get(Task, routed.get_json()["task_id"])
    assert [u.id for u in task.assignees] == [world.wang.id]
    assert client.get(BASE + "unrouted", headers=city_headers).get_json() == []
    assert client.get(BASE + str(complaint_id), headers=chief).status_code == 200
    route_events = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "complaint.route")).all()
    assert [e.details["task_id"] for e in route_events] == [task.id]


def test_a_location_outside_every_cell_is_unrouted(client, db_session, world, city):
    response = post(client, auth_headers(db_session, world.chief), "",
                    complaint_body(lon=107.5, lat=39.05))
    assert response.status_code == 201
    assert response.get_json()["cell_id"] is None
    queue = client.get(BASE + "unrouted", headers=auth_headers(db_session, city)).get_json()
    assert [c["id"] for c in queue] == [response.get_json()["id"]]


def test_routing_to_a_cell_puts_it_on_that_cells_supervisors_queue(client, db_session, world,
                                                                  city):
    complaint_id = post(client, auth_headers(db_session, world.admin), "",
                        complaint_body()).get_json()["id"]
    cell = world.grid.cells["D1001001"]
    routed = post(client, auth_headers(db_session, city), f"{complaint_id}/route",
                  {"cell_id": cell.id})
    assert routed.status_code == 200
    assert (routed.get_json()["cell_id"], routed.get_json()["status"]) == (cell.id, "received")
    queue = client.get(BASE, query_string={"awaiting_premises": "true"},
                       headers=auth_headers(db_session, world.chief)).get_json()
    assert [c["id"] for c in queue] == [complaint_id]


def test_a_routed_complaint_is_not_routed_again(client, db_session, world):
    headers = auth_headers(db_session, world.chief)
    complaint_id = post(client, headers, "", complaint_body(premises_id=world.clinic.id)).get_json()["id"]
    before = counts(db_session)
    again = post(client, headers, f"{complaint_id}/route", {"premises_id": world.clinic.id})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "complaint_already_routed"
    assert again.get_json()["error"]["details"] == {"status": "verifying"}
    assert counts(db_session) == before


@pytest.mark.parametrize("body, status, code", [
    ({"premises_id": 10**6}, 404, "not_found"),
    ({"cell_id": 10**6}, 404, "not_found"),
    ({}, 422, "validation_failed"),
    ({"premises_id": 1, "cell_id": 1}, 422, "validation_failed"),
])
def test_bad_routes_change_nothing(client, db_session, world, city, body, status, code):
    complaint_id = post(client, auth_headers(db_session, world.admin), "",
                        complaint_body()).get_json()["id"]
    headers = auth_headers(db_session, city)
    before = counts(db_session)
    response = post(client, headers, f"{complaint_id}/route", body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    assert counts(db_session) == before


def test_a_supervisor_routes_only_into_their_scope(client, db_session, world, city):
    complaint_id = post(client, auth_headers(db_session, world.admin), "",
                        complaint_body(address="", **inside(world.grid.cells["D1001002"])))\
        .get_json()["id"]
    headers = auth_headers(db_session, world.chief)
    before = counts(db_session)
    for body in ({"premises_id": world.foreign_clinic.id},
                 {"cell_id": world.grid.cells["D2001001"].id}):
        response = post(client, headers, f"{complaint_id}/route", body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "not_found")
    assert counts(db_session) == before


def test_the_assigned_staff_verify_and_the_task_is_done(client, db_session, world):
    complaint_id = post(client, auth_headers(db_session, world.chief), "",
                        complaint_body(premises_id=world.clinic.id)).get_json()["id"]
    body = {"outcome": "verified", "result": "现场毛巾未消毒，情况属实"}
    for outsider in (world.zhao, world.other_chief):
        refused = post(client, auth_headers(db_session, outsider), f"{complaint_id}/verify", body)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (404, "not_found")
    wang = auth_headers(db_session, world.wang)
    response = post(client, wang, f"{complaint_id}/verify", body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "verified"
    assert response.get_json()["verification_result"] == body["result"]
    db_session.expire_all()
    complaint = db_session.get(Complaint, complaint_id)
    assert complaint.verified_by_id == world.wang.id
    assert complaint.task.status == "done"
    before = counts(db_session)
    again = post(client, wang, f"{complaint_id}/verify", {**body, "outcome": "unfounded"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "complaint_not_verifying")
    assert counts(db_session) == before
    db_session.expire_all()
    assert db_session.get(Complaint, complaint_id).status == "verified"


def test_a_complaint_without_a_task_cannot_be_verified(client, db_session, world):
    headers = auth_headers(db_session, world.chief)
    complaint_id = post(client, headers, "", complaint_body(
        address="", **inside(world.grid.cells["D1001002"]))).get_json()["id"]
    response = post(client, headers, f"{complaint_id}/verify",
                    {"outcome": "unfounded", "result": "x"})
    assert (response.status_code, response.get_json()["error"]["code"]) == \
        (409, "complaint_not_verifying")


def test_feedback_is_recorded_once_after_verification(client, db_session, world):
    chief = auth_headers(db_session, world.chief)
    complaint_id = post(client, chief, "", complaint_body(premises_id=world.clinic.id)).get_json()["id"]
    early = post(client, chief, f"{complaint_id}/feedback", {"text": "正在核查"})
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "complaint_not_verified")
    post(client, auth_headers(db_session, world.wang), f"{complaint_id}/verify",
         {"outcome": "verified", "result": "属实"})
    wang_try = post(client, auth_headers(db_session, world.wang), f"{complaint_id}/feedback",
                    {"text": "已处理"})
    assert (wang_try.status_code, wang_try.get_json()["error"]["code"]) == (403, "role_required")
    response = post(client, chief, f"{complaint_id}/feedback", {"text": "已责令整改，电话告知"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert (data["feedback_text"], data["feedback_by_id"]) == ("已责令整改，电话告知", world.chief.id)
    assert data["feedback_at"] is not None
    before = counts(db_session)
    again = post(client, chief, f"{complaint_id}/feedback", {"text": "再次告知"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "feedback_already_given")
    assert counts(db_session) == before
    db_session.expire_all()
    assert db_session.get(Complaint, complaint_id).feedback_text == "已责令整改，电话告知"
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "complaint").order_by(AuditEvent.id)).all()
    assert actions == ["complaint.intake", "complaint.verify", "complaint.feedback"]


def test_an_anonymous_complaint_gets_no_feedback(client, db_session, world):
    chief = auth_headers(db_session, world.chief)
    created = post(client, chief, "", complaint_body(premises_id=world.clinic.id, anonymous=True,
                                                     complainant=None)).get_json()
    assert created["feedback_due"] is None and created["complainant"] is None
    post(client, auth_headers(db_session, world.wang), f"{created['id']}/verify",
         {"outcome": "unfounded", "result": "未发现问题"})
    response = post(client, chief, f"{created['id']}/feedback", {"text": "x"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "anonymous_complaint")


def test_a_coordinator_of_another_cell_sees_nothing(client, db_session, world):
    complaint_id = post(client, auth_headers(db_session, world.chief), "",
                        complaint_body(premises_id=world.clinic.id)).get_json()["id"]
    for outsider in (world.zhao, world.other_chief):
        headers = auth_headers(db_session, outsider)
        response = client.get(BASE + str(complaint_id), headers=headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "not_found")
        assert client.get(BASE, headers=headers).get_json() == []


def test_field_staff_cannot_take_complaints(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    before = counts(db_session)
    response = post(client, headers, "", complaint_body(premises_id=world.clinic.id))
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "role_required")
    assert counts(db_session) == before


def test_categories_have_chinese_and_english_labels(client, db_session, world):
    rows = client.get(BASE + "categories", headers=auth_headers(db_session, world.wang)).get_json()
    labels = {row["code"]: row["label_zh"] for row in rows}
    assert labels["illegal_practice"] == "非法行医"
    assert {"public_place_hygiene", "drinking_water", "school_hygiene",
            "medical_service_quality", "other"} <= set(labels)


def _bad_bodies(world):
    person = {"name": "张三", "phone": "13800138000"}
    return {
        "lon_without_lat": (complaint_body(lon=106.01), 422, "validation_failed", "lon"),
        "lon_out_of_range": (complaint_body(lon=200.0, lat=39.0), 422, "validation_failed", "lon"),
        "lat_not_a_number": (complaint_body(lon=106.0, lat="north"), 422, "validation_failed", "lat"),
        "unknown_premises": (complaint_body(premises_id=10**6), 404, "not_found", None),
        "premises_out_of_scope": (complaint_body(premises_id=world.foreign_clinic.id), 404,
                                  "not_found", None),
        "location_out_of_scope": (complaint_body(**inside(world.grid.cells["D2001001"])), 403,
                                  "location_out_of_scope", None),
        "unknown_channel": (complaint_body(channel="pigeon"), 422, "validation_failed", "channel"),
        "unknown_category": (complaint_body(category_code="gossip"), 422, "unknown_category",
                             "category_code"),
        "real_name_without_contact": (complaint_body(complainant=None), 422, "validation_failed",
                                      "complainant"),
        "real_name_without_phone": (complaint_body(complainant={"name": "张三"}), 422,
                                    "validation_failed", "complainant"),
        "anonymous_with_contact": (complaint_body(anonymous=True, complainant=person), 422,
                                   "validation_failed", "complainant"),
        "bad_phone": (complaint_body(complainant={**person, "phone": "call me"}), 422,
                      "validation_failed", "complainant"),
        "bad_id_number": (complaint_body(complainant={**person, "id_number": "110105194912310021"}),
                          422, "validation_failed", "complainant"),
        "empty_content": (complaint_body(content="   "), 422, "validation_failed", "content"),
        "missing_content": ({k: v for k, v in complaint_body().items() if k != "content"}, 422,
                            "validation_failed", "content"),
        "content_too_long": (complaint_body(content="长" * 5001), 422, "validation_failed",
                             "content"),
        "nowhere": (complaint_body(address=""), 422, "validation_failed", "address"),
        "missing_anonymous_flag": ({k: v for k, v in complaint_body().items()
                                    if k != "anonymous"}, 422, "validation_failed", "anonymous"),
        "received_in_the_future": (complaint_body(received_at="2999-01-01T00:00:00+00:00"), 422,
                                   "received_at_out_of_range", "received_at"),
        "received_long_ago": (complaint_body(received_at="2001-01-01T00:00:00+00:00"), 422,
                              "received_at_out_of_range", "received_at"),
        "received_without_zone": (complaint_body(received_at="2026-12-01T08:00:00"), 422,
                                  "validation_failed", "received_at"),
        "nul_in_content": (complaint_body(content="a\x00b"), 422, "validation_failed", "content"),
    }


BAD = sorted([
    "lon_without_lat", "lon_out_of_range", "lat_not_a_number", "unknown_premises",
    "premises_out_of_scope", "location_out_of_scope", "unknown_channel", "unknown_category",
    "real_name_without_contact", "real_name_without_phone", "anonymous_with_contact",
    "bad_phone", "bad_id_number", "empty_content", "missing_content", "content_too_long",
    "nowhere", "missing_anonymous_flag", "received_in_the_future", "received_long_ago",
    "received_without_zone", "nul_in_content"])


def test_every_bad_intake_is_tried(world):
    assert set(BAD) == set(_bad_bodies(world))


@pytest.mark.parametrize("case", BAD)
def test_bad_intake_is_refused_and_nothing_is_stored(client, db_session, world, case):
    body, status, code, field = _bad_bodies(world)[case]
    headers = auth_headers(db_session, world.chief)
    before = counts(db_session)
    response = post(client, headers, "", body)
    error = response.get_json()["error"]
    assert (response.status_code, error["code"]) == (status, code), error
    if field is not None:
        details = error["details"]
        assert field in details.get("json", details), details
    assert counts(db_session) == before


def test_complaints_follow_a_new_map_version(client, db_session, world):
    from tests.factories import make_grid

    admin = auth_headers(db_session, world.admin)
    by_premises = post(client, admin, "", complaint_body(premises_id=world.clinic.id)).get_json()
    by_location = post(client, admin, "", complaint_body(
        address="", **inside(world.grid.cells["D1001002"]))).get_json()
    by_hand = post(client, admin, "", complaint_body()).get_json()
    post(client, admin, f"{by_hand['id']}/route", {"cell_id": world.grid.cells["D1002001"].id})
    new = make_grid(db_session)  # the same cells again, as the next version of the map
    db_session.expire_all()
    expected = {by_premises["id"]: "D1001001", by_location["id"]: "D1001002",
                by_hand["id"]: "D1002001"}
    for complaint_id, code in expected.items():
        assert db_session.get(Complaint, complaint_id).cell_id == new.cells[code].id
    seen = client.get(BASE, headers=auth_headers(db_session, world.chief)).get_json()
    assert sorted(c["id"] for c in seen) == sorted(expected)
    moved = db_session.scalars(select(ChangeEvent).where(
        ChangeEvent.entity_type == "complaint", ChangeEvent.cell_id.in_(
            [cell.id for cell in new.cells.values()]))).all()
    assert sorted(int(e.entity_id) for e in moved) == sorted(expected)
