"""Content-addressed dedupe grants no access: a user holds a photo once they sent its bytes.

Citing another user's photo hash in a record of one's own leaves that record incomplete and
the photo unreadable; upload progress and partial uploads are each user's own.
"""

import hashlib

import pytest
from sqlalchemy import select

from server.models import ChangeEvent, Inspection, PhotoHolder
from tests.conftest import PHOTOS
from tests.factories import auth_headers, inspection_data, upload_chunk

HOPPER = (PHOTOS / "hopper.jpg").read_bytes()
SHA = hashlib.sha256(HOPPER).hexdigest()


@pytest.fixture(autouse=True)
def no_partial_uploads(app):
    """Files outlive the rolled-back transaction: start and end without partial uploads."""
    yield
    app.extensions["photo_store"].prune_partials(older_than=float("inf"))


@pytest.fixture
def headers(db_session, world):
    """Bearer headers of the shared world's staff: wang's clinic is in one district, zhao's
    (the foreign clinic) in the other, and each district has its supervisor."""
    return {name: auth_headers(db_session, getattr(world, name))
            for name in ("admin", "wang", "zhao", "chief", "other_chief")}


def put(client, headers, data=HOPPER, sha=SHA):
    return client.put(f"/api/v1/photos/{sha}", data=data, headers=headers,
                      content_type="image/jpeg")


def chunk(client, headers, offset, data, complete=False, sha=SHA):
    return upload_chunk(client, headers, sha, offset, data, complete)


def progress(client, headers, sha=SHA):
    return client.get(f"/api/v1/photos/{sha}/upload", headers=headers)


def submit(client, db_session, headers, premises, photos=(SHA,)):
    sent = inspection_data(db_session, premises, photos=list(photos))
    sent["device_time"] = sent["device_time"].isoformat()
    response = client.post("/api/v1/inspections/", json=sent, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def holders(db_session, sha=SHA):
    db_session.expire_all()
    return sorted(db_session.scalars(select(PhotoHolder.user_id).where(PhotoHolder.sha256 == sha)))


def error_code(response):
    return response.get_json()["error"]["code"]


# Citing a hash grants nothing


def test_a_record_citing_someone_elses_photo_stays_incomplete(client, db_session, world, headers):
    assert put(client, headers["wang"]).status_code == 201
    answer = submit(client, db_session, headers["zhao"], world.foreign_clinic)
    assert (answer["complete"], answer["photos_missing"]) == (False, [SHA])


@pytest.mark.parametrize("path", ["", "/original", "/thumb", "/public"],
                         ids=["facts", "original", "thumb", "public"])
def test_citing_someone_elses_photo_does_not_make_it_readable(client, db_session, world,
                                                              headers, path):
    assert put(client, headers["wang"]).status_code == 201
    submit(client, db_session, headers["zhao"], world.foreign_clinic)
    response = client.get(f"/api/v1/photos/{SHA}{path}", headers=headers["zhao"])
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_a_supervisor_cannot_read_a_photo_cited_by_a_record_whose_sender_lacks_it(
        client, db_session, world, headers):
    assert put(client, headers["wang"]).status_code == 201
    submit(client, db_session, headers["zhao"], world.foreign_clinic)
    response = client.get(f"/api/v1/photos/{SHA}/original", headers=headers["other_chief"])
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_a_supervisor_reads_the_photo_of_a_record_in_scope_whose_sender_holds_it(
        client, db_session, world, headers):
    assert put(client, headers["wang"]).status_code == 201
    submit(client, db_session, headers["wang"], world.clinic)
    response = client.get(f"/api/v1/photos/{SHA}/original", headers=headers["chief"])
    assert response.status_code == 200 and response.get_data() == HOPPER


def test_an_admin_reads_any_stored_photo(client, db_session, headers):
    assert put(client, headers["wang"]).status_code == 201
    response = client.get(f"/api/v1/photos/{SHA}", headers=headers["admin"])
    assert response.status_code == 200 and response.get_json()["sha256"] == SHA


# Sending the bytes proves possession


def test_sending_bytes_already_stored_answers_200_and_makes_the_sender_a_holder(
        client, db_session, world, headers):
    assert put(client, headers["wang"]).status_code == 201
    assert holders(db_session) == [world.wang.id]
    again = put(client, headers["zhao"])
    assert again.status_code == 200 and again.get_json()["sha256"] == SHA
    assert holders(db_session) == sorted([world.wang.id, world.zhao.id])
    response = client.get(f"/api/v1/photos/{SHA}/original", headers=headers["zhao"])
    assert response.status_code == 200


def test_sending_the_bytes_completes_the_record_and_tells_its_terminal(client, db_session,
                                                                       world, headers):
    assert put(client, headers["wang"]).status_code == 201
    answer = submit(client, db_session, headers["zhao"], world.foreign_clinic)
    assert put(client, headers["zhao"]).status_code == 200
    stored = client.get(f"/api/v1/inspections/{answer['inspection']['id']}",
                        headers=headers["zhao"]).get_json()
    assert (stored["complete"], stored["photos_missing"]) == (True, [])
    told = db_session.scalars(select(ChangeEvent.user_id).where(
        ChangeEvent.entity_type == "inspection_status",
        ChangeEvent.entity_id == str(answer["inspection"]["id"]))).all()
    assert told == [world.zhao.id]


def test_a_holder_sending_the_bytes_again_changes_no_record(client, db_session, world, headers):
    assert put(client, headers["wang"]).status_code == 201
    submit(client, db_session, headers["wang"], world.clinic)
    before = db_session.scalars(select(ChangeEvent.seq)).all()
    assert put(client, headers["wang"]).status_code == 200
    assert db_session.scalars(select(ChangeEvent.seq)).all() == before


def test_a_photo_sent_by_someone_else_does_not_complete_my_record(client, db_session, world,
                                                                  headers):
    answer = submit(client, db_session, headers["zhao"], world.foreign_clinic)
    assert put(client, headers["wang"]).status_code == 201
    db_session.expire_all()
    inspection = db_session.get(Inspection, answer["inspection"]["id"])
    stored = client.get(f"/api/v1/inspections/{inspection.id}",
                        headers=headers["zhao"]).get_json()
    assert stored["photos_missing"] == [SHA]
    assert db_session.scalars(select(ChangeEvent.seq).where(
        ChangeEvent.entity_type == "inspection_status")).all() == []


def test_a_resumable_upload_of_a_stored_photo_makes_the_sender_a_holder(client, db_session,
                                                                        world, headers):
    assert put(client, headers["wang"]).status_code == 201
    assert chunk(client, headers["zhao"], 0, HOPPER[:1000]).get_json() == {
        "offset": 1000, "stored": False}
    done = chunk(client, headers["zhao"], 1000, HOPPER[1000:], complete=True)
    assert done.status_code == 200
    assert done.get_json() == {"offset": len(HOPPER), "stored": True}
    assert holders(db_session) == sorted([world.wang.id, world.zhao.id])


# Upload progress and partial uploads are each user's own


def test_upload_status_of_a_photo_someone_else_sent_is_not_found(client, db_session, headers):
    assert put(client, headers["wang"]).status_code == 201
    response = progress(client, headers["zhao"])
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "no_upload", "message": response.get_json()["error"]["message"],
        "details": {"offset": 0}}


def test_upload_status_of_someone_elses_partial_upload_is_not_found(client, db_session, headers):
    chunk(client, headers["wang"], 0, HOPPER[:1000])
    response = progress(client, headers["zhao"])
    assert response.status_code == 404 and error_code(response) == "no_upload"


def test_upload_status_of_a_photo_i_sent_says_stored(client, db_session, headers):
    assert put(client, headers["wang"]).status_code == 201
    response = progress(client, headers["wang"])
    assert response.status_code == 200
    assert response.get_json() == {"offset": len(HOPPER), "stored": True}


def test_a_second_user_cannot_append_to_or_discard_my_partial_upload(client, db_session, world,
                                                                     headers):
    assert chunk(client, headers["wang"], 0, HOPPER[:1000]).status_code == 200
    # Zhao's chunk at 0 starts Zhao's own upload; his bad bytes discard only his.
    assert chunk(client, headers["zhao"], 0, b"\xff" * 500).get_json() == {
        "offset": 500, "stored": False}
    wrong = chunk(client, headers["zhao"], 500, b"\x00" * 10, complete=True)
    assert wrong.status_code == 422 and error_code(wrong) == "hash_mismatch"
    assert progress(client, headers["wang"]).get_json() == {"offset": 1000,
                                                                  "stored": False}
    done = chunk(client, headers["wang"], 1000, HOPPER[1000:], complete=True)
    assert done.get_json() == {"offset": len(HOPPER), "stored": True}
    assert holders(db_session) == [world.wang.id]
