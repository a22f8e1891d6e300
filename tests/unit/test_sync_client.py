"""The reference client's HTTP handling against a scripted server on a raw socket."""

import json
import socket
import threading

import pytest

from sync.client import Client, ServerRefused, Unreachable


class ScriptedServer:
    """Answer each request read with the next raw answer of a script, then close."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.answers:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                _read_request(connection)
                self.requests += 1
                connection.sendall(self.answers.pop(0))

    def close(self):
        self.listener.close()


def _read_request(connection):
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += connection.recv(65536)


def answer(status, body, *, declared=None):
    """A raw HTTP answer; declared: the Content-Length claimed (more than sent: a cut body)."""
    declared = len(body) if declared is None else declared
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\nConnection: close\r\n\r\n").encode() + body


ERROR_BODY = json.dumps({"error": {"code": "unavailable", "message": "try later"}}).encode()
CUT_ERROR = answer("503 Service Unavailable", ERROR_BODY[:10], declared=len(ERROR_BODY))


@pytest.fixture
def client(tmp_path):
    terminal = Client(tmp_path / "t.sqlite3", sleep=lambda seconds: None, retries=3)
    yield terminal
    terminal.close()


def test_an_error_answer_cut_short_is_retried_like_a_network_error(client):
    server = ScriptedServer([CUT_ERROR, answer("200 OK", b'{"ok": true}')])
    client.outbox.set(server=server.url)
    try:
        assert client.request("GET", "/api/v1/anything") == (200, {"ok": True})
        assert server.requests == 2
    finally:
        server.close()


def test_error_answers_always_cut_short_end_in_unreachable_not_a_traceback(client):
    server = ScriptedServer([CUT_ERROR] * 4)
    client.outbox.set(server=server.url)
    try:
        with pytest.raises(Unreachable, match="IncompleteRead"):
            client.request("GET", "/api/v1/anything")
        assert server.requests == 4
    finally:
        server.close()


def test_a_4xx_answer_cut_short_is_retried_until_it_arrives_whole(client):
    refusal = json.dumps({"error": {"code": "validation_failed", "message": "no"}}).encode()
    server = ScriptedServer([answer("422 Unprocessable Entity", refusal[:5], declared=len(refusal)),
                             answer("422 Unprocessable Entity", refusal)])
    client.outbox.set(server=server.url)
    try:
        with pytest.raises(ServerRefused) as refused:
            client.request("POST", "/api/v1/sync/push", body={"records": []})
        assert refused.value.code == "validation_failed"
        assert server.requests == 2
    finally:
        server.close()


def test_a_server_address_without_a_scheme_is_a_clear_error(client):
    client.outbox.set(server="127.0.0.1:5000")
    with pytest.raises(Unreachable, match="http://HOST:PORT"):
        client.request("GET", "/healthz")
