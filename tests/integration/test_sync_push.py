"""Terminal registration and push: each record alone, replays change nothing."""

import copy
from datetime import timedelta

import pytest
import time_machine

from server.models import AuditEvent, Inspection, Premises, PushedRecord, RejectedRecord
from server.models._types import utcnow
from sync.protocol import MAX_BATCH_RECORDS
from tests.factories import PASSWORD, inspection_data

# world (tests/conftest.py): terminals sign in as wang, coordinator of the clinic's cell;
# the foreign clinic is in the other district.


def register(client, username="wang", device_uid="term-0001", password=PASSWORD):
    return client.post("/api/v1/devices/", json={"username": username, "password": password,
                                                 "device_uid": device_uid, "name": "手持终端"})


def device_headers(client, **kwargs):
    response = register(client, **kwargs)
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['device_token']}"}


def as_record(data, kind="inspection"):
    return {"type": kind, "client_uuid": data["client_uuid"],
            "data": {**data, "device_time": data["device_time"].isoformat()}}


def push(client, headers, records):
    return client.post("/api/v1/sync/push", json={"records": records}, headers=headers)


def stored(db_session):
    db_session.expire_all()
    return (db_session.query(Inspection).count(), db_session.query(PushedRecord).count(),
            sorted((p.id, p.version) for p in db_session.query(Premises)))


def test_a_registered_device_authenticates_with_its_token(client, db_session, world):
    headers = device_headers(client)
    assert headers["Authorization"].startswith("Bearer gd_")
    me = client.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 200 and me.get_json()["username"] == "wang"


def test_a_revoked_device_gets_a_code_it_understands(client, db_session, world):
    headers = device_headers(client)
    device_id = client.get("/api/v1/devices/", headers=headers).get_json()[0]["id"]
    assert client.post(f"/api/v1/devices/{device_id}/revoke", headers=headers).status_code == 200
    refused = client.get("/api/v1/users/me", headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "device_revoked"


def test_registering_the_device_again_revokes_its_old_token(client, db_session, world):
    old = device_headers(client)
    new = device_headers(client)
    assert client.get("/api/v1/users/me", headers=old).get_json()["error"]["code"] == "device_revoked"
    assert client.get("/api/v1/users/me", headers=new).status_code == 200


def test_an_expired_device_is_told_to_sign_in_again(client, app, db_session, world):
    headers = device_headers(client)
    later = utcnow() + timedelta(hours=app.config["DEVICE_TOKEN_TTL_HOURS"] + 1)
    with time_machine.travel(later, tick=False):
        refused = client.get("/api/v1/users/me", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "device_expired"


def test_a_made_up_device_token_is_refused(client, db_session, world):
    refused = client.get("/api/v1/users/me", headers={"Authorization": "Bearer gd_nothing"})
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "device_token_invalid"


def test_wrong_password_on_registration_is_refused_like_sign_in(client, db_session, world):
    response = register(client, password="wrong-password")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "bad_credentials"


def test_each_record_is_answered_and_a_bad_one_sinks_nothing(client, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    good = inspection_data(db_session, premises)
    bad = inspection_data(db_session, premises)
    bad["items"] = bad["items"][1:]
    update = {"type": "premises_update", "client_uuid": "upd-1",
              "data": {"premises_id": premises.id, "base_version": 1, "contact_phone": "110"}}
    response = push(client, headers, [as_record(good), as_record(bad), update])
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert results[1]["code"] == "items_invalid" and "missing" in results[1]["reasons"]["items"]
    inspection = db_session.query(Inspection).filter_by(client_uuid=good["client_uuid"]).one()
    assert inspection.device_id == "term-0001"
    kept = db_session.query(RejectedRecord).one()
    assert kept.client_uuid == bad["client_uuid"] and kept.reasons["code"] == "items_invalid"


def test_replaying_a_batch_changes_nothing_and_answers_duplicate(client, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    batch = [as_record(inspection_data(db_session, premises)),
             {"type": "premises_update", "client_uuid": "upd-1",
              "data": {"premises_id": premises.id, "base_version": 1, "contact_phone": "110"}}]
    first = push(client, headers, batch).get_json()["results"]
    before = stored(db_session)
    audit_events = db_session.query(AuditEvent).count()
    for _ in range(3):
        again = push(client, headers, copy.deepcopy(batch)).get_json()["results"]
        assert [r["status"] for r in again] == ["duplicate", "duplicate"]
        assert [r["server_id"] for r in again] == [r["server_id"] for r in first]
    assert stored(db_session) == before
    assert db_session.query(AuditEvent).count() == audit_events


def test_the_same_uuid_with_other_content_is_a_conflict(client, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    record = as_record(inspection_data(db_session, premises))
    push(client, headers, [record])
    changed = copy.deepcopy(record)
    changed["data"]["findings"] = "改过"
    [result] = push(client, headers, [changed]).get_json()["results"]
    assert result["status"] == "conflict" and result["code"] == "uuid_conflict"
    assert db_session.query(Inspection).count() == 1


def test_a_stale_base_version_is_a_conflict_with_the_current_state(client, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    push(client, headers, [{"type": "premises_update", "client_uuid": "a",
                            "data": {"premises_id": premises.id, "base_version": 1,
                                     "contact_phone": "110"}}])
    [result] = push(client, headers, [{"type": "premises_update", "client_uuid": "b",
                                       "data": {"premises_id": premises.id, "base_version": 1,
                                                "contact_phone": "120"}}]).get_json()["results"]
    assert result["status"] == "conflict" and result["code"] == "stale_version"
    assert result["current"]["contact_phone"] == "110" and result["current"]["version"] == 2


def test_records_about_premises_outside_the_scope_are_rejected(client, db_session, world):
    foreign = world.foreign_clinic
    headers = device_headers(client)
    [result] = push(client, headers, [as_record(inspection_data(db_session, foreign))]) \
        .get_json()["results"]
    assert result["status"] == "rejected" and result["code"] == "not_found"
    assert db_session.query(Inspection).count() == 0


def test_unknown_record_types_and_bad_envelopes_are_rejected_per_record(client, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    results = push(client, headers, [{"type": "complaint", "client_uuid": "x", "data": {}},
                                     {"type": "inspection", "data": {}},
                                     as_record(inspection_data(db_session, premises))]).get_json()
    assert [r["status"] for r in results["results"]] == ["rejected", "rejected", "created"]
    assert results["results"][0]["reasons"]["type"]


def test_an_oversized_batch_is_refused_whole(client, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    records = [as_record(inspection_data(db_session, premises))
               for _ in range(MAX_BATCH_RECORDS + 1)]
    response = push(client, headers, records)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "batch_too_large"
    assert db_session.query(Inspection).count() == 0


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "bad_request"),  # not JSON at all
    (b'{"records": "nope"}', 422, "validation_failed"),  # JSON of the wrong shape
    (b"[]", 422, "validation_failed"),
])
def test_malformed_push_bodies_are_refused(client, db_session, world, body, status, code):
    headers = device_headers(client)
    response = client.post("/api/v1/sync/push", data=body,
                           headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert db_session.query(PushedRecord).count() == 0


def test_push_answers_which_photos_the_server_still_lacks(client, db_session, world):
    import hashlib

    from tests.factories import jpeg_bytes

    premises = world.clinic
    headers = device_headers(client)
    photo = jpeg_bytes(7)
    sha = hashlib.sha256(photo).hexdigest()
    record = as_record(inspection_data(db_session, premises, photos=[sha]))
    [result] = push(client, headers, [record]).get_json()["results"]
    assert result["status"] == "created" and result["photos_missing"] == [sha]
    assert client.put(f"/api/v1/photos/{sha}", data=photo, headers=headers).status_code == 201
    [again] = push(client, headers, [record]).get_json()["results"]
    assert again["status"] == "duplicate" and "photos_missing" not in again


def test_a_premises_cannot_be_moved_out_of_scope_and_the_batch_goes_on(client, db_session,
                                                                        world):
    from geoalchemy2.shape import to_shape

    premises, foreign = world.clinic, world.foreign_clinic
    # liu supervises the district: may move premises within it, not out of it.
    headers = device_headers(client, username=world.chief.username, device_uid="term-chief")
    elsewhere = to_shape(foreign.location)  # in the other district
    moved = {"type": "premises_update", "client_uuid": "move-1",
             "data": {"premises_id": premises.id, "base_version": 1,
                      "lon": elsewhere.x, "lat": elsewhere.y}}
    inspection = as_record(inspection_data(db_session, premises))
    first, second = push(client, headers, [moved, inspection]).get_json()["results"]
    assert first["status"] == "rejected" and first["code"] == "location_out_of_scope"
    assert second["status"] == "created", second
    db_session.expire_all()
    assert db_session.get(Premises, premises.id).version == 1


def test_the_answer_carries_the_evidence_flags_worked_out_at_acceptance(client, db_session,
                                                                         world):
    premises = world.clinic
    headers = device_headers(client)
    flagged = as_record(inspection_data(db_session, premises, gps=False,
                                        device_time=utcnow() - timedelta(hours=2)))
    clean = as_record(inspection_data(db_session, premises))
    update = {"type": "premises_update", "client_uuid": "upd-1",
              "data": {"premises_id": premises.id, "base_version": 1, "contact_phone": "110"}}
    first, second, third = push(client, headers, [flagged, clean, update]).get_json()["results"]
    assert [flag["code"] for flag in first["evidence_flags"]] == ["no_gps", "clock_skew"]
    stored = db_session.query(Inspection).filter_by(client_uuid=flagged["client_uuid"]).one()
    assert first["evidence_flags"] == stored.evidence_flags
    assert second["status"] == "created" and second["evidence_flags"] == []
    assert "evidence_flags" not in third
    [again] = push(client, headers, [flagged]).get_json()["results"]
    assert again["status"] == "duplicate" and again["evidence_flags"] == first["evidence_flags"]
