"""Resumable photo upload: ask how far it got, continue from there, verify the hash at the end."""

import hashlib

import pytest

from server.models import Photo
from tests.conftest import PHOTOS
from tests.factories import auth_headers, make_user, upload_chunk

HOPPER = (PHOTOS / "hopper.jpg").read_bytes()
SHA = hashlib.sha256(HOPPER).hexdigest()


@pytest.fixture(autouse=True)
def no_partial_upload(app):
    """Files outlive the rolled-back transaction: start and end without a partial upload."""
    store = app.extensions["photo_store"]
    store.prune_partials(older_than=float("inf"))
    yield
    store.prune_partials(older_than=float("inf"))


@pytest.fixture
def headers(db_session):
    return auth_headers(db_session, make_user(db_session, "coordinator"))


def chunk(client, headers, offset, data, complete=False, sha=SHA):
    return upload_chunk(client, headers, sha, offset, data, complete)


def progress(client, headers, sha=SHA):
    return client.get(f"/api/v1/photos/{sha}/upload", headers=headers).get_json()


NOTHING_HELD = {"code": "no_upload", "details": {"offset": 0}}


def nothing_held(client, headers, sha=SHA):
    """True when the server holds none of this user's upload of the photo (404 no_upload)."""
    response = client.get(f"/api/v1/photos/{sha}/upload", headers=headers)
    error = response.get_json()["error"]
    return response.status_code == 404 and {k: error[k] for k in NOTHING_HELD} == NOTHING_HELD


def test_an_upload_in_three_chunks_stores_the_photo(client, headers, db_session):
    third = len(HOPPER) // 3
    assert chunk(client, headers, 0, HOPPER[:third]).get_json() == {"offset": third, "stored": False}
    assert progress(client, headers) == {"offset": third, "stored": False}
    chunk(client, headers, third, HOPPER[third:2 * third])
    done = chunk(client, headers, 2 * third, HOPPER[2 * third:], complete=True)
    assert done.status_code == 200 and done.get_json() == {"offset": len(HOPPER), "stored": True}
    assert db_session.get(Photo, SHA).size == len(HOPPER)
    assert client.get(f"/api/v1/photos/{SHA}/original", headers=headers).data == HOPPER


def test_a_chunk_at_the_wrong_offset_says_where_to_continue(client, headers, db_session):
    chunk(client, headers, 0, HOPPER[:1000])
    response = chunk(client, headers, 500, HOPPER[500:2000])
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "offset_mismatch" and error["details"] == {"offset": 1000}
    assert progress(client, headers)["offset"] == 1000


def test_a_resent_chunk_after_a_lost_answer_is_refused_without_damage(client, headers, db_session):
    chunk(client, headers, 0, HOPPER[:1000])
    assert chunk(client, headers, 0, HOPPER[:1000]).status_code == 409
    done = chunk(client, headers, 1000, HOPPER[1000:], complete=True)
    assert done.get_json()["stored"] is True


def test_bytes_that_do_not_hash_to_the_name_are_discarded(client, headers, db_session):
    wrong = HOPPER[:-1] + b"\x00"
    chunk(client, headers, 0, wrong[:2000])
    response = chunk(client, headers, 2000, wrong[2000:], complete=True)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "hash_mismatch"
    assert nothing_held(client, headers)
    assert db_session.get(Photo, SHA) is None


def test_a_photo_already_stored_reports_complete(client, headers, db_session):
    client.put(f"/api/v1/photos/{SHA}", data=HOPPER, headers=headers)
    assert progress(client, headers) == {"offset": len(HOPPER), "stored": True}
    assert chunk(client, headers, 0, HOPPER[:10]).get_json()["stored"] is True


def test_a_missing_offset_header_is_refused(client, headers, db_session):
    response = client.patch(f"/api/v1/photos/{SHA}/upload", data=b"abc", headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "bad_offset"


def test_an_upload_growing_past_the_limit_is_refused(client, app, headers, db_session, monkeypatch):
    from server.photos import PhotoLimits

    monkeypatch.setitem(app.extensions, "photo_limits", PhotoLimits(
        max_bytes=1000, max_pixels=app.extensions["photo_limits"].max_pixels))
    response = chunk(client, headers, 0, HOPPER[:1500])
    assert response.status_code == 413 and nothing_held(client, headers)


def test_a_whole_photo_in_one_chunk_is_stored_without_a_partial_file(client, app, headers,
                                                                      db_session):
    done = chunk(client, headers, 0, HOPPER, complete=True)
    assert done.status_code == 200 and done.get_json() == {"offset": len(HOPPER), "stored": True}
    assert db_session.get(Photo, SHA).size == len(HOPPER)
    store = app.extensions["photo_store"]
    assert list(store.root.rglob("*.part")) == [] and store.exists(SHA)


def test_a_whole_photo_that_does_not_hash_to_its_name_stores_nothing(client, headers, db_session):
    wrong = HOPPER[:-1] + b"\x00"
    response = chunk(client, headers, 0, wrong, complete=True)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "hash_mismatch"
    assert nothing_held(client, headers)
    assert db_session.get(Photo, SHA) is None


def test_a_whole_photo_sent_while_part_of_it_is_held_says_where_to_continue(client, headers,
                                                                            db_session):
    chunk(client, headers, 0, HOPPER[:1000])
    response = chunk(client, headers, 0, HOPPER, complete=True)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == {"offset": 1000}
    assert db_session.get(Photo, SHA) is None
    assert chunk(client, headers, 1000, HOPPER[1000:], complete=True).get_json()["stored"] is True


def test_sync_prune_deletes_partial_uploads_left_empty_or_unfinished_for_48_hours(
        client, app, headers, db_session, runner):
    import os
    import time

    store = app.extensions["photo_store"]
    chunk(client, headers, 0, HOPPER[:1000])
    other_sha = hashlib.sha256(b"another photo").hexdigest()
    # A refused first chunk leaves an empty partial file behind.
    assert chunk(client, headers, 5, b"another photo"[5:], sha=other_sha).status_code == 409
    assert len(list(store.root.rglob("*.part"))) == 2

    def last_written(hours_ago):
        # Set by hand against this process's clock (time.time, which faketime also moves):
        # the file system stamps files with the machine's real time.
        stamp = time.time() - hours_ago * 3600
        for path in store.root.rglob("*.part"):
            os.utime(path, (stamp, stamp))

    last_written(47)
    result = runner.invoke(args=["sync", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 partial photo upload(s)" in result.output  # the empty one
    assert [p.name.split(".")[0] for p in store.root.rglob("*.part")] == [SHA]
    assert progress(client, headers) == {"offset": 1000, "stored": False}
    last_written(49)
    result = runner.invoke(args=["sync", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 partial photo upload(s)" in result.output
    assert list(store.root.rglob("*.part")) == [] and nothing_held(client, headers)
