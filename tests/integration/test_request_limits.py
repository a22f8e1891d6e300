"""Request bodies over MAX_CONTENT_LENGTH are refused whole, chunked or not.

Chunked bodies need a real server: only it dechunks and marks the stream as terminated.
"""

import json
import socket

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_user
from tests.live import live_app, read_answer

LIMIT = 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("limits"),
                  lambda session: make_user(session, "coordinator", "wang")) as (url, app):
        app.config["MAX_CONTENT_LENGTH"] = LIMIT
        yield url, app


def tokens_issued(app):
    from server.extensions import db
    from server.models import ApiToken

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(ApiToken))
        db.session.remove()
    return count


def post_chunked(url, path, body, chunk=256):
    """Send body with Transfer-Encoding: chunked; return (status, response body).

    The answer is read by its Content-Length, not until the server closes: a server that
    answers early (413) may still be draining the rest of the body, and that drain ends only
    when the client half-closes, which it does after the last chunk.
    """
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n").encode())
        try:
            for start in range(0, len(body), chunk):
                piece = body[start:start + chunk]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before taking it all
        return read_answer(sock)


def credentials_padded_to(size):
    # Valid JSON at any cut past the closing brace: a truncated body would still sign in.
    body = json.dumps({"username": "wang", "password": PASSWORD}).encode()
    return body + b" " * (size - len(body))


def test_chunked_body_over_the_limit_is_refused_and_nothing_happens(server):
    url, app = server
    before = tokens_issued(app)
    status, payload = post_chunked(url, "/api/v1/auth/token", credentials_padded_to(LIMIT * 3))
    assert status == 413
    assert json.loads(payload)["error"]["code"] == "request_too_large"
    assert tokens_issued(app) == before


def test_chunked_body_one_byte_over_the_limit_is_refused(server):
    url, _ = server
    status, _ = post_chunked(url, "/api/v1/auth/token", credentials_padded_to(LIMIT + 1))
    assert status == 413


def test_chunked_body_at_the_limit_is_read_whole(server):
    url, app = server
    before = tokens_issued(app)
    status, _ = post_chunked(url, "/api/v1/auth/token", credentials_padded_to(LIMIT))
    assert status == 201
    assert tokens_issued(app) == before + 1


def test_body_with_a_content_length_over_the_limit_is_refused(app, client, db_session,
                                                                monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", LIMIT)
    make_user(db_session, "coordinator", "wang")
    response = client.post("/api/v1/auth/token", data=credentials_padded_to(LIMIT + 1),
                           content_type="application/json")
    assert response.status_code == 413
