"""The reference terminal client: push the outbox, pull changes, upload photos resumably.

Talks HTTP with the standard library over one kept-alive connection (sync/transport.py). Network errors and 5xx are retried with
exponential backoff; 4xx answers are final and recorded. The outbox state changes only
after the server answered, so any retry is a replay the server answers "duplicate".
"""

import json
import random
import sys
import time
import urllib.parse
import uuid

from sync.outbox import Outbox
from sync.protocol import MAX_BATCH_RECORDS
from sync.transport import CONNECTION_ERRORS, Connection

# What a cut or refused connection raises, before, during or after the answer (a body cut
# short is http.client.IncompleteRead, an HTTPException).
NETWORK_ERRORS = CONNECTION_ERRORS


class ServerRefused(Exception):
    """A final 4xx answer: {"error": {"code", "message", "details"}}."""

    def __init__(self, status, error):
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status = status
        self.code = error.get("code")
        self.message = error.get("message")
        self.details = error.get("details")


class Unreachable(Exception):
    """The server could not be reached, or kept failing, after every retry."""


class Client:
    """A terminal: an outbox on disk and a server to sync with."""

    def __init__(self, outbox_path, *, timeout=30.0, retries=6, backoff=0.5, sleep=time.sleep,
                 chunk_size=256 * 1024, progress=None):
        self.outbox = Outbox(outbox_path)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.chunk_size = chunk_size
        self.progress = progress
        self._connection = None

    def close(self):
        self._disconnect()
        self.outbox.close()

    # -- HTTP -----------------------------------------------------------------------------

    def _connection_to(self, server):
        if self._connection is None or self._connection.base_url != server.rstrip("/"):
            self._disconnect()
            try:
                self._connection = Connection(server, timeout=self.timeout)
            except ValueError as error:
                raise Unreachable(f"{error}: give it as http://HOST:PORT") from None
        return self._connection

    def _disconnect(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(self, method, path, *, body=None, data=None, headers=None, auth=True):
        """Send a request, retrying network errors and 5xx; return (status, json or None).

        An answer cut short (its body shorter than its Content-Length, or not JSON where
        JSON was due) is a network error like any other: the request may have landed, and
        sending it again is a replay the server recognises.
        """
        server = self.outbox.get("server")
        if not server:
            raise Unreachable("No server: run login first.")
        headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if auth and self.outbox.get("token"):
            headers["Authorization"] = f"Bearer {self.outbox.get('token')}"
        connection = self._connection_to(server)
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))
            try:
                status, reason, raw = connection.request(
                    method, path, data=data, headers=headers)
            except NETWORK_ERRORS as error:
                last = repr(error)
                continue
            payload = _json(raw)
            if status >= 500:
                last = f"HTTP {status}"
                continue
            if status >= 400:
                raise ServerRefused(status, (payload or {}).get("error") or {
                    "code": f"http_{status}", "message": reason})
            if payload is None and status != 204:
                last = "the answer was cut short"  # the request may have landed: replay
                continue
            return status, payload
        raise Unreachable(f"{method} {path} failed after {self.retries + 1} attempts: {last}")

    # -- commands -------------------------------------------------------------------------

    def login(self, server, username, password, *, device_uid=None, name="grid-terminal"):
        """Register this terminal with the server; keep the device token in the outbox."""
        device_uid = device_uid or self.outbox.get("device_uid") or f"term-{uuid.uuid4().hex[:12]}"
        self.outbox.set(server=server, device_uid=device_uid)
        _, answer = self.request("POST", "/api/v1/devices/", auth=False, body={
            "username": username, "password": password, "device_uid": device_uid, "name": name})
        self.outbox.set(token=answer["device_token"], username=username)
        return answer

    def pull(self):
        """Pull every page of changes into the outbox; return the number of items applied."""
        applied = 0
        while True:
            query = {"cursor": self.outbox.get("cursor"), "scope": self.outbox.get("scope")}
            path = "/api/v1/sync/pull?" + "&".join(
                f"{k}={urllib.parse.quote(v)}" for k, v in query.items() if v)
            try:
                _, page = self.request("GET", path)
            except ServerRefused as error:
                if error.code != "resync_required":
                    raise
                self.outbox.set(cursor="", scope="")
                continue
            self.outbox.apply_pull(page)
            applied += len(page["items"])
            if not page["has_more"]:
                return applied

    def push(self, batch_size=MAX_BATCH_RECORDS):
        """Send queued photos and records until the outbox is empty; return a summary."""
        summary = {"created": 0, "duplicate": 0, "rejected": 0, "conflict": 0, "photos": 0,
                   "photos_rejected": 0}
        for sha, path, size in self.outbox.queued_photos():
            stored = self.upload_photo(sha, path, size)
            summary["photos"] += stored
            summary["photos_rejected"] += 1 - stored
        while True:
            batch = self.outbox.queued_records(min(batch_size, MAX_BATCH_RECORDS))
            if not batch:
                return summary
            _, answer = self.request("POST", "/api/v1/sync/push", body={"records": batch})
            self.outbox.settle(answer["results"])
            for result in answer["results"]:
                summary[result["status"]] += 1

    def upload_photo(self, sha, path, size):
        """Upload one photo from where the server got to; return 1 when stored, 0 if refused.

        A photo that fits in one chunk is sent whole at once: if the server already holds
        part of it, it says from where to go on (409 offset_mismatch). A larger one starts
        by asking how far an earlier attempt got.
        """
        if size <= self.chunk_size:
            state, offset = {"stored": False}, 0
        else:
            try:
                _, state = self.request("GET", f"/api/v1/photos/{sha}/upload")
            except ServerRefused as error:
                if error.code != "no_upload":  # 404: not started by this user yet
                    raise
                state = {"offset": 0, "stored": False}
            offset = state["offset"]
        with open(path, "rb") as handle:
            while not state["stored"]:
                handle.seek(offset)
                chunk = handle.read(self.chunk_size)
                last = offset + len(chunk) >= size
                headers = {"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"}
                if last:
                    headers["Upload-Complete"] = "?1"
                try:
                    _, state = self.request("PATCH", f"/api/v1/photos/{sha}/upload", data=chunk,
                                            headers=headers)
                except ServerRefused as error:
                    if error.code in ("offset_mismatch", "no_upload"):
                        offset = error.details["offset"]
                        continue
                    # The file does not hash to its name, or is no photo: set it aside.
                    self.outbox.photo_done(sha, "rejected", f"{error.code}: {error.message}")
                    return 0
                offset = state["offset"]
                if self.progress:
                    self.progress(sha, min(offset, size), size)
        self.outbox.photo_done(sha)
        return 1


def _json(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def progress_bar(sha, done, total, stream=sys.stderr):
    """Draw a one-line progress bar for a photo upload."""
    width = 30
    filled = int(width * done / total) if total else width
    stream.write(f"\r{sha[:10]} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} B")
    if done >= total:
        stream.write("\n")
    stream.flush()
