"""The terminal's on-disk outbox: records and photos wait here until the server has them.

Every change is one SQLite transaction, so killing the terminal at any point leaves either
the old state or the new one, never half of each.
"""

import hashlib
import json
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records (
    client_uuid TEXT PRIMARY KEY, type TEXT NOT NULL, payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',  -- queued | sent | rejected | conflict
    server_id INTEGER, result TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',  -- queued | stored | rejected
    reason TEXT);
CREATE TABLE IF NOT EXISTS entities (
    type TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (type, id));
"""


def file_sha256(path):
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Outbox:
    """The terminal's local store."""

    def __init__(self, path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self):
        self.db.close()

    @contextmanager
    def transaction(self):
        """Run a block in one SQLite transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get(self, key, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set(self, **values):
        with self.transaction() as db:
            for key, value in values.items():
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                           "DO UPDATE SET value = excluded.value", (key, value))

    def add_record(self, record_type, data, photo_paths=(), client_uuid=None):
        """Queue a record and its photos in one transaction; return its client UUID."""
        client_uuid = client_uuid or data.get("client_uuid") or str(uuid.uuid4())
        photos = [(file_sha256(path), str(Path(path).resolve()), Path(path).stat().st_size)
                  for path in photo_paths]
        data = dict(data)
        if record_type == "order":
            data["client_uuid"] = client_uuid
        if record_type in ("inspection", "inspection_revision"):
            data["client_uuid"] = client_uuid
            data["photos"] = sorted(set(data.get("photos", [])) | {sha for sha, _, _ in photos})
        now = time.time()
        with self.transaction() as db:
            db.execute("INSERT INTO records (client_uuid, type, payload, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (client_uuid, record_type, json.dumps(data, ensure_ascii=False), now, now))
            for sha, path, size in photos:
                db.execute("INSERT OR IGNORE INTO photos (sha256, path, size) VALUES (?, ?, ?)",
                           (sha, path, size))
        return client_uuid

    def queued_records(self, limit):
        rows = self.db.execute("SELECT client_uuid, type, payload FROM records WHERE state = "
                               "'queued' ORDER BY created_at, client_uuid LIMIT ?", (limit,))
        return [{"client_uuid": u, "type": t, "data": json.loads(p)} for u, t, p in rows]

    def settle(self, results):
        """Record the server's answers for pushed records, in one transaction."""
        now = time.time()
        state = {"created": "sent", "duplicate": "sent", "rejected": "rejected",
                 "conflict": "conflict"}
        with self.transaction() as db:
            for result in results:
                db.execute("UPDATE records SET state = ?, server_id = ?, result = ?, "
                           "updated_at = ? WHERE client_uuid = ?",
                           (state[result["status"]], result.get("server_id"),
                            json.dumps(result, ensure_ascii=False), now, result["client_uuid"]))

    def queued_photos(self):
        return self.db.execute("SELECT sha256, path, size FROM photos WHERE state = 'queued' "
                               "ORDER BY sha256").fetchall()

    def photo_done(self, sha256, state="stored", reason=None):
        with self.transaction() as db:
            db.execute("UPDATE photos SET state = ?, reason = ? WHERE sha256 = ?",
                       (state, reason, sha256))

    def apply_pull(self, page):
        """Store a pulled page and its cursor together, so a crash cannot skip changes."""
        with self.transaction() as db:
            if page["reset"]:
                db.execute("DELETE FROM entities")
            for item in page["items"]:
                if item["op"] == "delete":
                    db.execute("DELETE FROM entities WHERE type = ? AND id = ?",
                               (item["type"], item["id"]))
                else:
                    db.execute("INSERT INTO entities (type, id, data) VALUES (?, ?, ?) "
                               "ON CONFLICT(type, id) DO UPDATE SET data = excluded.data",
                               (item["type"], item["id"], json.dumps(item["data"],
                                                                     ensure_ascii=False)))
            for key in ("next_cursor", "scope"):
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO "
                           "UPDATE SET value = excluded.value",
                           ("cursor" if key == "next_cursor" else key, page[key]))

    def status(self):
        """Return counts by state and the rejected records with their reasons."""
        counts = dict(self.db.execute("SELECT state, COUNT(*) FROM records GROUP BY state"))
        photos = dict(self.db.execute("SELECT state, COUNT(*) FROM photos GROUP BY state"))
        problems = [{"client_uuid": u, "state": s, "result": json.loads(r) if r else None}
                    for u, s, r in self.db.execute(
                        "SELECT client_uuid, state, result FROM records "
                        "WHERE state IN ('rejected', 'conflict') ORDER BY updated_at")]
        entities = dict(self.db.execute("SELECT type, COUNT(*) FROM entities GROUP BY type"))
        rejected_photos = [{"sha256": sha, "reason": reason} for sha, reason in self.db.execute(
            "SELECT sha256, reason FROM photos WHERE state = 'rejected' ORDER BY sha256")]
        incomplete = []
        for client_uuid, result in self.db.execute("SELECT client_uuid, result FROM records "
                                                   "WHERE state = 'sent' ORDER BY updated_at"):
            missing = (json.loads(result) if result else {}).get("photos_missing") or []
            if missing:
                incomplete.append({"client_uuid": client_uuid, "photos_missing": missing})
        return {"records": counts, "photos": photos, "problems": problems,
                "photos_rejected": rejected_photos, "records_missing_photos": incomplete,
                "entities": entities}
