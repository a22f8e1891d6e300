"""The terminal sync protocol: record types, per-record outcomes, cursors, batch handling.

Pure: no Flask, no database. The server passes in what applies one record; this module
keeps every record of a batch apart, so one bad record never sinks or blocks the others.
"""

import re
from dataclasses import asdict, dataclass, field

PROTOCOL_VERSION = 1
MAX_BATCH_RECORDS = 100
RECORD_TYPES = ("inspection", "inspection_revision", "premises_update", "order", "order_move")
OUTCOMES = ("created", "duplicate", "rejected", "conflict")
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
# A UUID, or any short token of these characters: nothing a database or a log chokes on.
CLIENT_UUID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
PHOTO_NAME = re.compile(r"[0-9a-f]{64}")  # the SHA-256 of the photo's bytes


def is_id(value):
    """Tell whether a JSON value is a usable id: an integer 1 … 2³¹-1 (true is not one)."""
    return type(value) is int and 1 <= value <= MAX_ID


def is_client_uuid(value):
    return isinstance(value, str) and CLIENT_UUID.fullmatch(value) is not None


def is_photo_name(value):
    return isinstance(value, str) and PHOTO_NAME.fullmatch(value) is not None


class RecordRejected(Exception):
    """The record cannot be applied as it is; reasons map fields to messages."""

    def __init__(self, code, message, reasons=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reasons = reasons or {}


class RecordConflict(Exception):
    """The record disagrees with the server's current version, which is sent back."""

    def __init__(self, code, message, current=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.current = current


@dataclass
class RecordResult:
    """The answer for one pushed record."""

    client_uuid: str | None
    type: str | None
    status: str
    server_id: int | None = None
    code: str | None = None
    message: str | None = None
    reasons: dict = field(default_factory=dict)
    current: dict | None = None
    photos_missing: list = field(default_factory=list)
    evidence_flags: list | None = None  # inspections: what the evidence checks found

    def to_dict(self):
        return {key: value for key, value in asdict(self).items()
                if value not in (None, {}, []) or key in ("status", "client_uuid", "type")
                or (key == "evidence_flags" and value is not None)}


class BatchTooLarge(ValueError):
    """More records than one push may carry."""


def envelope_problems(record):
    """Return what is wrong with a record's envelope (type, client_uuid, data), or {}."""
    problems = {}
    if not isinstance(record, dict):
        return {"record": ["must be an object with type, client_uuid and data"]}
    if record.get("type") not in RECORD_TYPES:
        problems["type"] = [f"must be one of {list(RECORD_TYPES)}"]
    if not is_client_uuid(record.get("client_uuid")):
        problems["client_uuid"] = ["a client-generated id (UUID) is required: 1-64 of "
                                   "A-Za-z0-9._:-"]
    if not isinstance(record.get("data"), dict):
        problems["data"] = ["must be an object"]
    return problems


def push_batch(records, apply_one, on_rejected=None):
    """Apply each record on its own and answer every one, in order.

    apply_one(record) returns (status, server_id, photos_missing[, evidence_flags]) or raises
    RecordRejected / RecordConflict; it must undo its own partial work on failure (a savepoint).
    on_rejected(record, result) is called for each refused record (to keep it for diagnosis).
    """
    if not isinstance(records, list):
        raise ValueError("records must be a list")
    if len(records) > MAX_BATCH_RECORDS:
        raise BatchTooLarge(f"a push carries at most {MAX_BATCH_RECORDS} records")
    results = []
    for record in records:
        uuid = record.get("client_uuid") if isinstance(record, dict) else None
        kind = record.get("type") if isinstance(record, dict) else None
        problems = envelope_problems(record)
        if problems:
            # Echo only what is safe to echo: the answers stay in the records' order anyway.
            result = RecordResult(uuid if is_client_uuid(uuid) else None,
                                  kind if kind in RECORD_TYPES else None, "rejected",
                                  code="bad_envelope", message="The record envelope is invalid.",
                                  reasons=problems)
        else:
            result = _apply(record, apply_one)
        if result.status == "rejected" and on_rejected is not None:
            on_rejected(record, result)
        results.append(result)
    return results


def _apply(record, apply_one):
    uuid, kind = record["client_uuid"], record["type"]
    try:
        status, server_id, missing, *flags = apply_one(record)
    except RecordRejected as error:
        return RecordResult(uuid, kind, "rejected", code=error.code, message=error.message,
                            reasons=error.reasons)
    except RecordConflict as error:
        return RecordResult(uuid, kind, "conflict", code=error.code, message=error.message,
                            current=error.current)
    return RecordResult(uuid, kind, status, server_id=server_id, photos_missing=list(missing),
                        evidence_flags=list(flags[0]) if flags else None)


def encode_cursor(seq):
    """Return the opaque cursor for a position in the change feed."""
    return f"c{PROTOCOL_VERSION}.{int(seq)}"


def decode_cursor(cursor):
    """Return the feed position of a cursor; None or "" is the beginning. ValueError if bad."""
    if cursor in (None, ""):
        return 0
    prefix, _, number = str(cursor).partition(".")
    if prefix != f"c{PROTOCOL_VERSION}" or not _is_number(number):
        raise ValueError("not a cursor this server issued")
    return int(number)


@dataclass(frozen=True)
class SnapshotCursor:
    """Where a paged snapshot of a scope stands.

    resume: the feed position to go on from once the snapshot is done;
    step, after_id: the step of the snapshot and the last id it sent;
    scope: the scope version being sent; base: the scope the terminal had, when only what
    entered and left it is sent (None for everything); until: with a base, the feed position
    when that snapshot began: the feed from resume up to it is sent less what the snapshot
    sent (each entity once).
    """

    resume: int
    step: int
    after_id: int
    scope: str
    base: str | None = None
    until: int | None = None

    def encode(self):
        tail = f".h{self.until}" if self.until is not None else ""
        return (f"s{PROTOCOL_VERSION}.{self.resume}.{self.step}.{self.after_id}.{self.scope}."
                f"{self.base or '-'}{tail}")


def parse_cursor(cursor):
    """Return an int feed position (0 for none) or a SnapshotCursor. ValueError if bad."""
    text = str(cursor or "")
    if not text.startswith(f"s{PROTOCOL_VERSION}."):
        return decode_cursor(cursor)
    parts = text.split(".")
    until = None
    if len(parts) == 7 and parts[5] != "-" and parts[6][:1] == "h" and _is_number(parts[6][1:]):
        until = int(parts.pop()[1:])
    if len(parts) != 6 or not all(_is_number(part) for part in parts[1:4]) \
            or not all(_is_scope(part) for part in parts[4:5]) \
            or not (parts[5] == "-" or _is_scope(parts[5])):
        raise ValueError("not a cursor this server issued")
    return SnapshotCursor(resume=int(parts[1]), step=int(parts[2]), after_id=int(parts[3]),
                          scope=parts[4], base=None if parts[5] == "-" else parts[5], until=until)


def _is_number(text):
    return text.isascii() and text.isdigit() and len(text) <= 18


def _is_scope(text):
    return 1 <= len(text) <= 64 and text.isascii() and text.isalnum()


def collapse(events):
    """Keep the last event of each entity, in feed order: a page says each thing once."""
    last = {}
    for event in events:
        last[(event["entity_type"], event["entity_id"])] = event
    return sorted(last.values(), key=lambda event: event["seq"])
