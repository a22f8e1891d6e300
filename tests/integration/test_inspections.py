"""Inspection records over the HTTP API: submitted once per client UUID, never changed in
place, corrected by revision, checked against the checklist and the inspectors' scope, and
flagged (never refused) when the on-site evidence disagrees.

Every refusal is checked to leave the database and the photo store as they were.
"""

import hashlib
import math
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from geoalchemy2.shape import to_shape
from PIL import Image
from sqlalchemy import func, select

from grid_maps.geometry import EARTH_RADIUS_M
from server.models import (
    AuditEvent,
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    Photo,
    Task,
)
from server.models._types import utcnow
from server.services.checklists import applicable_items
from server.services.tasks import create_task
from tests.factories import (
    CLINIC_CELL,
    FOREIGN_CELL,
    assign,
    auth_headers,
    inspection_data,
    jpeg_bytes,
    make_user,
    template_for,
)

CELL, OTHER_CELL = CLINIC_CELL, FOREIGN_CELL
URL = "/api/v1/inspections/"


@pytest.fixture
def officers(db_session, world):
    """Enforcement officers on top of the shared world (where wang patrols the clinic's cell,
    zhao coordinates a cell in the other district and chief supervises the clinic's)."""
    li = make_user(db_session, "officer")         # on the clinic's cell
    zhang = make_user(db_session, "officer")      # on the street above it: covers it too
    outsider = make_user(db_session, "officer")   # on a cell in the other district
    assign(db_session, world.admin, li, world.grid.cells[CELL])
    assign(db_session, world.admin, zhang, world.grid.cells["D1001"])
    assign(db_session, world.admin, outsider, world.grid.cells[OTHER_CELL])
    return SimpleNamespace(li=li, zhang=zhang, outsider=outsider)


@pytest.fixture
def headers(db_session, world, officers):
    """Bearer headers per user name, issued before any snapshot is taken."""
    users = {"wang": world.wang, "li": officers.li, "zhao": world.zhao, "chief": world.chief}
    return {name: auth_headers(db_session, user) for name, user in users.items()}


def body(db_session, premises, **kwargs):
    """An inspection as the API takes it (JSON, device time as ISO 8601)."""
    data = inspection_data(db_session, premises, **kwargs)
    return {**data, "device_time": data["device_time"].isoformat()}


def stored(db_session, app):
    """What a request could store: row counts and the files in the photo store."""
    db_session.expire_all()
    counts = {model.__name__: db_session.scalar(select(func.count()).select_from(model))
              for model in (Inspection, InspectionItemResult, InspectionPhoto, Photo, AuditEvent)}
    counts["tasks"] = sorted(db_session.execute(select(Task.id, Task.status)).all())
    counts["files"] = sorted(str(p) for p in Path(app.config["PHOTO_DIR"]).rglob("*")
                             if p.is_file())
    return counts


def error_of(response):
    return response.get_json()["error"]


def flag_codes(inspection):
    return [flag["code"] for flag in inspection["evidence_flags"]]


def point_north_of(premises, metres):
    """(lon, lat) of a point the given distance due north of the premises."""
    point = to_shape(premises.location)
    return point.x, point.y + math.degrees(metres / EARTH_RADIUS_M)


def photo_with_exif(seed, *, lonlat=None, taken_local=None):
    """A JPEG whose EXIF carries a GPS position and/or a DateTimeOriginal (camera local time)."""
    exif = Image.Exif()
    if lonlat is not None:
        lon, lat = lonlat
        exif.get_ifd(0x8825).update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    if taken_local is not None:
        exif.get_ifd(0x8769).update({0x9003: taken_local.strftime("%Y:%m:%d %H:%M:%S")})
    data = jpeg_bytes(seed, exif=exif.tobytes())
    return data, hashlib.sha256(data).hexdigest()


def _dms(value):
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return degrees, minutes, round(((value - degrees) * 60 - minutes) * 60, 4)


def put_photo(client, headers, data, sha256):
    return client.put(f"/api/v1/photos/{sha256}", data=data, headers=headers,
                      content_type="image/jpeg")


# Idempotency on the client UUID


def test_a_new_inspection_is_created_with_a_result_for_every_item(client, db_session, world,
                                                                    headers):
    sent = body(db_session, world.clinic)
    response = client.post(URL, json=sent, headers=headers["wang"])
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "created"
    assert answer["inspection"]["client_uuid"] == sent["client_uuid"]
    assert sorted(i["item_code"] for i in answer["inspection"]["items"]) == \
        sorted(i["item_code"] for i in sent["items"])
    assert db_session.scalar(select(func.count()).select_from(Inspection)) == 1


def test_the_same_uuid_and_content_again_is_a_duplicate_stored_once(client, db_session, world,
                                                                     headers):
    sent = body(db_session, world.clinic)
    first = client.post(URL, json=sent, headers=headers["wang"])
    assert first.status_code == 201
    before = stored(db_session, client.application)
    again = client.post(URL, json=sent, headers=headers["wang"])
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate"
    assert again.get_json()["inspection"]["id"] == first.get_json()["inspection"]["id"]
    assert stored(db_session, client.application) == before
    assert before["Inspection"] == 1


def test_the_same_uuid_with_other_content_is_a_conflict_carrying_the_stored_record(
        client, db_session, world, headers):
    sent = body(db_session, world.clinic)
    first = client.post(URL, json=sent, headers=headers["wang"]).get_json()["inspection"]
    before = stored(db_session, client.application)
    response = client.post(URL, json={**sent, "findings": "另一份内容"}, headers=headers["wang"])
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "uuid_conflict"
    current = error["details"]["current"]
    assert current["id"] == first["id"]
    assert current["client_uuid"] == sent["client_uuid"]
    assert current["premises_id"] == world.clinic.id
    assert stored(db_session, client.application) == before


# Who may inspect


def test_an_enforcement_check_by_one_officer_is_refused(client, db_session, world, headers,
                                                        officers):
    before = stored(db_session, client.application)
    response = client.post(URL, json=body(db_session, world.clinic, kind="enforcement",
                                          inspector_ids=[officers.li.id]), headers=headers["li"])
    assert response.status_code == 422
    assert error_of(response)["code"] == "too_few_officers"
    assert stored(db_session, client.application) == before


def test_an_enforcement_check_by_two_officers_covering_the_premises_is_created(
        client, db_session, world, headers, officers):
    response = client.post(URL, json=body(db_session, world.clinic, kind="enforcement",
                                          inspector_ids=[officers.li.id, officers.zhang.id]),
                           headers=headers["li"])
    assert response.status_code == 201, response.get_json()
    inspection = response.get_json()["inspection"]
    assert inspection["kind"] == "enforcement"
    assert inspection["inspector_ids"] == sorted([officers.li.id, officers.zhang.id])


def test_a_coordinator_patrol_by_one_inspector_is_created(client, db_session, world, headers):
    response = client.post(URL, json=body(db_session, world.clinic, kind="patrol",
                                          inspector_ids=[world.wang.id]),
                           headers=headers["wang"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["inspection"]["inspector_ids"] == [world.wang.id]


def test_an_inspector_whose_cells_do_not_cover_the_premises_is_refused(client, db_session, world,
                                                                       headers, officers):
    before = stored(db_session, client.application)
    response = client.post(URL, json=body(db_session, world.clinic, kind="enforcement",
                                          inspector_ids=[officers.li.id, officers.outsider.id]),
                           headers=headers["li"])
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "inspector_out_of_scope"
    assert error["details"]["inspector_ids"] == [officers.outsider.id]
    assert stored(db_session, client.application) == before


# The checklist


def test_missing_item_results_are_refused_naming_the_missing_codes(client, db_session, world,
                                                                   headers):
    sent = body(db_session, world.clinic)
    dropped = sorted(item["item_code"] for item in sent["items"][:2])
    sent["items"] = sent["items"][2:]
    before = stored(db_session, client.application)
    response = client.post(URL, json=sent, headers=headers["wang"])
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "items_invalid"
    assert error["details"]["items"]["missing"] == dropped
    assert stored(db_session, client.application) == before


def test_an_unknown_item_code_is_refused(client, db_session, world, headers):
    sent = body(db_session, world.clinic)
    sent["items"].append({"item_code": "NO-SUCH-ITEM", "result": "compliant", "note": "",
                          "photos": []})
    before = stored(db_session, client.application)
    response = client.post(URL, json=sent, headers=headers["wang"])
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "items_invalid"
    assert list(error["details"]["items"]) == ["NO-SUCH-ITEM"]
    assert stored(db_session, client.application) == before


def test_a_non_compliant_item_without_a_note_is_refused(client, db_session, world, headers):
    sent = body(db_session, world.clinic, conclusion="rectification_required")
    sent["items"][0].update(result="non_compliant", note="  ")
    before = stored(db_session, client.application)
    response = client.post(URL, json=sent, headers=headers["wang"])
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "items_invalid"
    assert list(error["details"]["items"]) == [sent["items"][0]["item_code"]]
    assert stored(db_session, client.application) == before


def test_an_unknown_template_is_refused(client, db_session, world, headers):
    before = stored(db_session, client.application)
    response = client.post(URL, json=body(db_session, world.clinic, template_id=10**6),
                           headers=headers["wang"])
    assert response.status_code == 422
    assert error_of(response)["code"] == "unknown_template"
    assert stored(db_session, client.application) == before


def test_a_template_for_another_category_is_refused(client, db_session, world, headers):
    school_template = template_for(db_session, "school")
    before = stored(db_session, client.application)
    response = client.post(URL, json=body(db_session, world.clinic,
                                          template_id=school_template.id),
                           headers=headers["wang"])
    assert response.status_code == 422
    assert error_of(response)["code"] == "template_not_applicable"
    assert stored(db_session, client.application) == before


def test_an_inspection_of_premises_outside_the_users_scope_is_not_found(client, db_session, world,
                                                                        headers):
    before = stored(db_session, client.application)
    response = client.post(URL, json=body(db_session, world.foreign_clinic),
                           headers=headers["wang"])
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert stored(db_session, client.application) == before


def test_an_inspection_outside_the_users_scope_cannot_be_read(client, db_session, world,
                                                             headers):
    inspection = client.post(URL, json=body(db_session, world.clinic),
                             headers=headers["wang"]).get_json()["inspection"]
    response = client.get(f"{URL}{inspection['id']}", headers=headers["zhao"])
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# Immutability and corrections


@pytest.fixture
def original(client, db_session, world, headers):
    """An inspection submitted by the coordinator, as the API answered it."""
    response = client.post(URL, json=body(db_session, world.clinic), headers=headers["wang"])
    assert response.status_code == 201
    return response.get_json()["inspection"]


def correction(db_session, world, **kwargs):
    sent = body(db_session, world.clinic, conclusion="rectification_required",
                findings="补记：消毒记录不全")
    sent["items"][0].update(result="non_compliant", note="消毒登记缺三天")
    return {**sent, **kwargs}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_stored_inspection_cannot_be_changed_in_place(client, db_session, world, headers,
                                                        original, method):
    before = stored(db_session, client.application)
    response = client.open(f"{URL}{original['id']}", method=method,
                           json=correction(db_session, world), headers=headers["wang"])
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert stored(db_session, client.application) == before
    again = client.get(f"{URL}{original['id']}", headers=headers["wang"]).get_json()
    assert again["inspection"] == original


def test_a_correction_is_a_new_revision_linked_to_the_original(client, db_session, world, headers,
                                                               original):
    response = client.post(f"{URL}{original['id']}/revisions",
                           json=correction(db_session, world, reason="漏记一项不符合"),
                           headers=headers["wang"])
    assert response.status_code == 201, response.get_json()
    revision = response.get_json()["inspection"]
    assert revision["id"] != original["id"]
    assert revision["revision_of_id"] == original["id"]
    assert revision["revision_reason"] == "漏记一项不符合"
    assert revision["conclusion"] == "rectification_required"


def test_the_corrected_original_stays_readable_unchanged(client, db_session, world, headers,
                                                         original):
    client.post(f"{URL}{original['id']}/revisions",
                json=correction(db_session, world, reason="漏记一项不符合"), headers=headers["wang"])
    response = client.get(f"{URL}{original['id']}", headers=headers["wang"])
    assert response.status_code == 200
    assert response.get_json()["inspection"] == original


def test_an_original_can_be_corrected_only_once(client, db_session, world, headers, original):
    first = client.post(f"{URL}{original['id']}/revisions",
                        json=correction(db_session, world, reason="第一次更正"),
                        headers=headers["wang"])
    assert first.status_code == 201
    before = stored(db_session, client.application)
    second = client.post(f"{URL}{original['id']}/revisions",
                         json=correction(db_session, world, reason="第二次更正"),
                         headers=headers["wang"])
    assert second.status_code == 409
    error = error_of(second)
    assert error["code"] == "already_corrected"
    assert error["details"]["latest_id"] == first.get_json()["inspection"]["id"]
    assert stored(db_session, client.application) == before


@pytest.mark.parametrize("reason", [None, "   "], ids=["missing", "blank"])
def test_a_correction_without_a_reason_is_refused(client, db_session, world, headers, original,
                                                  reason):
    sent = correction(db_session, world)
    if reason is not None:
        sent["reason"] = reason
    before = stored(db_session, client.application)
    response = client.post(f"{URL}{original['id']}/revisions", json=sent, headers=headers["wang"])
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert "reason" in str(error["details"])
    assert stored(db_session, client.application) == before


def test_resending_the_same_correction_answers_duplicate(client, db_session, world, headers,
                                                         original):
    sent = correction(db_session, world, reason="漏记一项不符合")
    first = client.post(f"{URL}{original['id']}/revisions", json=sent, headers=headers["wang"])
    assert first.status_code == 201
    again = client.post(f"{URL}{original['id']}/revisions", json=sent, headers=headers["wang"])
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate"
    assert again.get_json()["inspection"]["id"] == first.get_json()["inspection"]["id"]


# On-site evidence: flagged, never refused


def test_a_record_made_on_site_with_a_true_clock_carries_no_flags(client, db_session, world,
                                                                  headers):
    now = utcnow()
    with time_machine.travel(now, tick=False):
        response = client.post(URL, json=body(db_session, world.clinic, device_time=now),
                               headers=headers["wang"])
    assert response.status_code == 201
    inspection = response.get_json()["inspection"]
    assert inspection["evidence_flags"] == []
    assert inspection["distance_m"] == pytest.approx(0, abs=1)


def test_a_gps_fix_a_kilometre_from_the_premises_is_flagged_far_from_premises(
        client, db_session, world, headers):
    lon, lat = point_north_of(world.clinic, 1000)
    sent = body(db_session, world.clinic)
    sent["gps"] = {"lon": lon, "lat": lat, "accuracy_m": 10.0}
    response = client.post(URL, json=sent, headers=headers["wang"])
    assert response.status_code == 201
    inspection = response.get_json()["inspection"]
    assert flag_codes(inspection) == ["far_from_premises"]
    assert inspection["evidence_flags"][0]["distance_m"] == pytest.approx(1000, abs=1)
    assert inspection["distance_m"] == pytest.approx(1000, abs=1)


def test_a_record_without_gps_is_flagged_no_gps(client, db_session, world, headers):
    response = client.post(URL, json=body(db_session, world.clinic, gps=False),
                           headers=headers["wang"])
    assert response.status_code == 201
    inspection = response.get_json()["inspection"]
    assert flag_codes(inspection) == ["no_gps"]
    assert inspection["distance_m"] is None


def test_a_device_clock_two_hours_slow_is_flagged_clock_skew(client, db_session, world, headers):
    now = utcnow()
    with time_machine.travel(now, tick=False):
        response = client.post(URL, json=body(db_session, world.clinic,
                                              device_time=now - timedelta(hours=2)),
                               headers=headers["wang"])
    assert response.status_code == 201
    inspection = response.get_json()["inspection"]
    assert flag_codes(inspection) == ["clock_skew"]
    assert inspection["evidence_flags"][0]["seconds"] == -7200


def test_supervisors_list_the_flagged_records(client, db_session, world, headers):
    flagged = client.post(URL, json=body(db_session, world.clinic, gps=False),
                          headers=headers["wang"]).get_json()["inspection"]
    clean = client.post(URL, json=body(db_session, world.clinic), headers=headers["wang"])
    assert clean.status_code == 201 and clean.get_json()["inspection"]["evidence_flags"] == []
    response = client.get(f"{URL}?flagged=true", headers=headers["chief"])
    assert response.status_code == 200
    listed = response.get_json()
    assert [i["id"] for i in listed] == [flagged["id"]]
    assert flag_codes(listed[0]) == ["no_gps"]


def test_the_distance_limit_comes_from_configuration(client, db_session, world, headers,
                                                     monkeypatch):
    monkeypatch.setitem(client.application.config, "EVIDENCE_MAX_DISTANCE_M", 2000.0)
    lon, lat = point_north_of(world.clinic, 1000)
    sent = body(db_session, world.clinic)
    sent["gps"] = {"lon": lon, "lat": lat, "accuracy_m": 10.0}
    response = client.post(URL, json=sent, headers=headers["wang"])
    assert response.status_code == 201
    assert response.get_json()["inspection"]["evidence_flags"] == []


def test_a_record_flagged_by_a_late_photo_joins_the_flagged_list(client, db_session, world,
                                                                 headers):
    data, sha256 = photo_with_exif(106, lonlat=point_north_of(world.clinic, 3000))
    submitted = client.post(URL, json=body(db_session, world.clinic, photos=[sha256]),
                            headers=headers["wang"]).get_json()["inspection"]
    assert client.get(f"{URL}?flagged=true", headers=headers["chief"]).get_json() == []
    assert put_photo(client, headers["wang"], data, sha256).status_code == 201
    listed = client.get(f"{URL}?flagged=true", headers=headers["chief"]).get_json()
    assert [i["id"] for i in listed] == [submitted["id"]]


# Photos named by a record before they arrive


def test_a_photo_not_yet_uploaded_is_listed_as_missing(client, db_session, world, headers):
    data, sha256 = photo_with_exif(101)
    response = client.post(URL, json=body(db_session, world.clinic, photos=[sha256]),
                           headers=headers["wang"])
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["photos_missing"] == [sha256]
    assert answer["complete"] is False


def test_the_record_is_complete_once_its_photo_arrives(client, db_session, world, headers):
    data, sha256 = photo_with_exif(102)
    submitted = client.post(URL, json=body(db_session, world.clinic, photos=[sha256]),
                            headers=headers["wang"]).get_json()["inspection"]
    upload = put_photo(client, headers["wang"], data, sha256)
    assert upload.status_code == 201, upload.get_json()
    answer = client.get(f"{URL}{submitted['id']}", headers=headers["wang"]).get_json()
    assert answer["photos_missing"] == []
    assert answer["complete"] is True


def test_a_photo_taken_far_from_the_premises_is_flagged_once_uploaded(client, db_session, world,
                                                                      headers):
    data, sha256 = photo_with_exif(103, lonlat=point_north_of(world.clinic, 3000))
    submitted = client.post(URL, json=body(db_session, world.clinic, photos=[sha256]),
                            headers=headers["wang"]).get_json()["inspection"]
    assert submitted["evidence_flags"] == []
    assert put_photo(client, headers["wang"], data, sha256).status_code == 201
    inspection = client.get(f"{URL}{submitted['id']}", headers=headers["wang"]).get_json()[
        "inspection"]
    assert flag_codes(inspection) == ["photo_far_from_premises"]
    assert inspection["evidence_flags"][0]["sha256"] == sha256
    assert inspection["evidence_flags"][0]["distance_m"] == pytest.approx(3000, abs=5)


def test_a_photo_taken_days_from_the_record_time_is_flagged_once_uploaded(client, db_session,
                                                                          world, headers):
    now = utcnow()
    # Cameras write Beijing local time without a zone.
    three_days_before = (now + timedelta(hours=8) - timedelta(days=3)).replace(tzinfo=None)
    data, sha256 = photo_with_exif(104, taken_local=three_days_before)
    with time_machine.travel(now, tick=False):
        submitted = client.post(URL, json=body(db_session, world.clinic, photos=[sha256],
                                               device_time=now),
                                headers=headers["wang"]).get_json()["inspection"]
        assert put_photo(client, headers["wang"], data, sha256).status_code == 201
    inspection = client.get(f"{URL}{submitted['id']}", headers=headers["wang"]).get_json()[
        "inspection"]
    assert flag_codes(inspection) == ["photo_time_mismatch"]
    assert inspection["evidence_flags"][0]["sha256"] == sha256
    assert inspection["evidence_flags"][0]["seconds"] == pytest.approx(-3 * 86400, abs=1)


def test_a_photo_taken_on_site_at_the_record_time_adds_no_flag(client, db_session, world,
                                                               headers):
    now = utcnow().replace(microsecond=0)
    local = (now + timedelta(hours=8)).replace(tzinfo=None)
    data, sha256 = photo_with_exif(105, lonlat=point_north_of(world.clinic, 50),
                                   taken_local=local)
    with time_machine.travel(now, tick=False):
        submitted = client.post(URL, json=body(db_session, world.clinic, photos=[sha256],
                                               device_time=now),
                                headers=headers["wang"]).get_json()["inspection"]
        assert put_photo(client, headers["wang"], data, sha256).status_code == 201
    answer = client.get(f"{URL}{submitted['id']}", headers=headers["wang"]).get_json()
    assert answer["complete"] is True
    assert answer["inspection"]["evidence_flags"] == []


# Tasks


@pytest.fixture
def task(db_session, world):
    return create_task(db_session, world.admin, kind="routine_patrol", premises_id=world.clinic.id,
                       due_date=date(2026, 12, 1), assignee_ids=[world.wang.id])


def test_an_inspection_for_a_task_completes_the_task(client, db_session, world, headers, task):
    response = client.post(URL, json=body(db_session, world.clinic, task_id=task.id),
                           headers=headers["wang"])
    assert response.status_code == 201
    assert response.get_json()["inspection"]["task_id"] == task.id
    db_session.expire_all()
    assert db_session.get(Task, task.id).status == "done"


def test_a_done_task_cannot_take_another_inspection(client, db_session, world, headers, task):
    first = client.post(URL, json=body(db_session, world.clinic, task_id=task.id),
                        headers=headers["wang"])
    assert first.status_code == 201
    before = stored(db_session, client.application)
    response = client.post(URL, json=body(db_session, world.clinic, task_id=task.id),
                           headers=headers["wang"])
    assert response.status_code == 409
    assert error_of(response)["code"] == "task_not_open"
    assert stored(db_session, client.application) == before


def test_a_correction_of_a_task_inspection_keeps_its_task(client, db_session, world, headers,
                                                          task):
    first = client.post(URL, json=body(db_session, world.clinic, task_id=task.id),
                        headers=headers["wang"]).get_json()["inspection"]
    response = client.post(f"{URL}{first['id']}/revisions",
                           json=correction(db_session, world, reason="补记", task_id=task.id),
                           headers=headers["wang"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["inspection"]["task_id"] == task.id


# The audit trail


def submit_events(db_session):
    db_session.expire_all()
    return db_session.scalars(select(AuditEvent).where(AuditEvent.action == "inspection.submit")
                              .order_by(AuditEvent.id)).all()


def test_each_submission_appends_an_inspection_submit_event(client, db_session, world, headers):
    ids = [client.post(URL, json=body(db_session, world.clinic), headers=headers["wang"])
           .get_json()["inspection"]["id"] for _ in range(2)]
    events = submit_events(db_session)
    assert [(e.entity_type, e.entity_id, e.actor_id) for e in events] == \
        [("inspection", str(i), world.wang.id) for i in ids]


def test_a_correction_appends_an_inspection_submit_event_naming_the_original(
        client, db_session, world, headers, original):
    revision = client.post(f"{URL}{original['id']}/revisions",
                           json=correction(db_session, world, reason="漏记一项不符合"),
                           headers=headers["wang"]).get_json()["inspection"]
    last = submit_events(db_session)[-1]
    assert last.entity_id == str(revision["id"])
    assert last.details == {"revision_of": original["id"]}


def test_a_duplicate_appends_no_audit_event(client, db_session, world, headers):
    sent = body(db_session, world.clinic)
    client.post(URL, json=sent, headers=headers["wang"])
    assert client.post(URL, json=sent, headers=headers["wang"]).status_code == 200
    assert len(submit_events(db_session)) == 1


def test_every_applicable_item_is_stored_with_its_result(client, db_session, world, headers):
    sent = body(db_session, world.clinic, conclusion="rectification_required")
    sent["items"][0].update(result="non_compliant", note="消毒登记缺三天")
    inspection_id = client.post(URL, json=sent, headers=headers["wang"]).get_json()[
        "inspection"]["id"]
    rows = db_session.scalars(select(InspectionItemResult).where(
        InspectionItemResult.inspection_id == inspection_id)).all()
    expected = applicable_items(template_for(db_session, "clinic"), "clinic")
    assert sorted(r.item_code for r in rows) == sorted(item.code for item in expected)
    assert {(r.item_code, r.result, r.note) for r in rows if r.result != "compliant"} == \
        {(sent["items"][0]["item_code"], "non_compliant", "消毒登记缺三天")}
