"""A photo body shorter than its Content-Length (the client hung up, a proxy cut it) is refused
as incomplete, and the bytes of a resumable upload already held stay as they were.

Werkzeug's own server notices the hang-up; behind gunicorn (which marks the input as
terminated) the body just comes up short, which the test client reproduces.
"""

import hashlib
import json
import socket
import urllib.request

import pytest
from sqlalchemy import select

from server.models import Photo
from tests.conftest import PHOTOS
from tests.factories import PASSWORD, auth_headers, make_user, upload_chunk
from tests.live import live_app, read_answer

HOPPER = (PHOTOS / "hopper.jpg").read_bytes()
SHA = hashlib.sha256(HOPPER).hexdigest()
HELD = 1000
# What gunicorn hands the app: a stream it ends itself, so a short body reads as a short body.
GUNICORN_CUT = {"wsgi.input_terminated": True, "CONTENT_LENGTH": str(len(HOPPER))}


@pytest.fixture(autouse=True)
def no_partial_uploads(app):
    yield
    app.extensions["photo_store"].prune_partials(older_than=float("inf"))


@pytest.fixture
def headers(db_session):
    return auth_headers(db_session, make_user(db_session, "coordinator"))


def patch(client, headers, offset, data, complete=False, environ=None):
    return upload_chunk(client, headers, SHA, offset, data, complete, environ)


def test_a_cut_final_chunk_is_refused_and_the_bytes_held_stay(client, headers, db_session):
    assert patch(client, headers, 0, HOPPER[:HELD]).get_json() == {"offset": HELD,
                                                                   "stored": False}
    cut = patch(client, headers, HELD, HOPPER[HELD:-100], complete=True,
                environ={**GUNICORN_CUT, "CONTENT_LENGTH": str(len(HOPPER) - HELD)})
    assert cut.status_code == 400
    assert cut.get_json()["error"]["code"] == "incomplete_body"
    state = client.get(f"/api/v1/photos/{SHA}/upload", headers=headers)
    assert state.get_json() == {"offset": HELD, "stored": False}
    assert db_session.scalar(select(Photo).where(Photo.sha256 == SHA)) is None
    done = patch(client, headers, HELD, HOPPER[HELD:], complete=True)
    assert done.get_json() == {"offset": len(HOPPER), "stored": True}


def test_a_cut_whole_photo_is_refused_and_nothing_is_stored(client, app, headers, db_session):
    response = client.put(f"/api/v1/photos/{SHA}", data=HOPPER[:-100], headers=headers,
                          content_type="image/jpeg", environ_overrides=GUNICORN_CUT)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "incomplete_body"
    assert db_session.scalar(select(Photo).where(Photo.sha256 == SHA)) is None
    store = app.extensions["photo_store"]
    assert list(store.root.rglob("*.part")) == []


def test_a_cut_first_chunk_leaves_no_upload(client, headers, db_session):
    cut = patch(client, headers, 0, HOPPER[:HELD - 10],
                environ={**GUNICORN_CUT, "CONTENT_LENGTH": str(HELD)})
    assert cut.status_code == 400 and cut.get_json()["error"]["code"] == "incomplete_body"
    state = client.get(f"/api/v1/photos/{SHA}/upload", headers=headers)
    assert state.status_code == 404 and state.get_json()["error"]["code"] == "no_upload"


# Over a real socket: the client sends less than it announced, then hangs up its side.


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("cut"),
                  lambda session: make_user(session, "coordinator", "wang")) as (url, app):
        request = urllib.request.Request(
            url + "/api/v1/auth/token", method="POST",
            data=json.dumps({"username": "wang", "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            token = json.load(answer)["token"]
        yield url, {"Authorization": f"Bearer {token}"}


def send(url, method, path, headers, body=b"", announced=None):
    """Send one request announcing `announced` bytes of body, send `body`, half-close;
    return (status, parsed JSON answer)."""
    host, port = url.removeprefix("http://").split(":")
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
            f"Content-Length: {len(body) if announced is None else announced}",
            *(f"{name}: {value}" for name, value in headers.items())]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)
        status, payload = read_answer(sock)
        return status, json.loads(payload)


def chunk_headers(auth, offset, complete=False):
    headers = {**auth, "Upload-Offset": str(offset), "Content-Type": "application/octet-stream"}
    return {**headers, "Upload-Complete": "?1"} if complete else headers


def test_a_final_chunk_cut_on_the_wire_is_refused_and_the_upload_goes_on(server):
    url, auth = server
    path = f"/api/v1/photos/{SHA}/upload"
    assert send(url, "PATCH", path, chunk_headers(auth, 0), HOPPER[:HELD]) == (
        200, {"offset": HELD, "stored": False})
    status, answer = send(url, "PATCH", path, chunk_headers(auth, HELD, complete=True),
                          HOPPER[HELD:-100], announced=len(HOPPER) - HELD)
    assert (status, answer["error"]["code"]) == (400, "incomplete_body")
    assert send(url, "GET", path, auth) == (200, {"offset": HELD, "stored": False})
    assert send(url, "PATCH", path, chunk_headers(auth, HELD, complete=True),
                HOPPER[HELD:]) == (200, {"offset": len(HOPPER), "stored": True})
