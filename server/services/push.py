"""Apply pushed records through the same services as the REST API, each in its own savepoint."""

import json
from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from server.errors import AppError, Conflict
from server.models import ChecklistTemplate, Inspection, Premises, PushedRecord, RejectedRecord
from server.photos import sha256_hex
from server.schemas.followups import MoveIn, OrderIn
from server.schemas.inspections import CorrectionIn, InspectionIn
from server.schemas.premises import UPDATE_OPTIONAL, PremisesUpdate
from server.services import audit
from server.services.followups.deadlines import load_rules
from server.services.followups.orders import (
    IllegalMove,
    get_order,
    issue_order,
    move_order,
    order_state,
)
from server.services.inspections import correct_inspection, missing_photos, submit_inspection
from server.services.photos import lock_photos
from server.services.premises import premises_query, update_premises
from sync.protocol import (
    RecordConflict,
    RecordRejected,
    is_client_uuid,
    is_id,
    is_photo_name,
    push_batch,
)

INSPECTION_TYPES = ("inspection", "inspection_revision")


@dataclass(frozen=True)
class RejectedLimits:
    """How much of the refused records is kept for diagnosis."""

    payload_max_bytes: int = 8192  # of canonical JSON; beyond, an excerpt, the size and digest
    per_device: int = 1000  # rows kept per device (per user for pushes without one)
    retention_days: int = 90  # `flask sync prune` deletes older ones

    @classmethod
    def from_config(cls, config):
        """Build the limits from app config keys REJECTED_RECORDS_<NAME>."""
        return cls(payload_max_bytes=int(config["REJECTED_RECORDS_PAYLOAD_MAX_BYTES"]),
                   per_device=int(config["REJECTED_RECORDS_PER_DEVICE"]),
                   retention_days=int(config["REJECTED_RECORDS_RETENTION_DAYS"]))


def push(session, actor, device, records, *, limits, rejected_limits=RejectedLimits(),
         deadline_rules=None, case_numbering=None):
    """Answer every record of a batch: created | duplicate | rejected | conflict.

    deadline_rules: for orders without a deadline (default: the shipped rule file).
    case_numbering: for the case an escalation opens (default: CaseNumbering()).
    """

    # Every photo the batch names is locked here, once, in one order: records taking their
    # own photos' locks one after the other would lock two batches' shared photos in
    # opposite orders and deadlock. The records' own lock_photos then hold already.
    lock_photos(session, batch_photo_names(records))
    # Read once what the records share (templates with their items, earlier pushes, premises
    # in scope) and keep it alive for the whole batch: the session holds objects only weakly.
    batch = _BatchCache(session, actor, records)
    batch.deadline_rules = deadline_rules or load_rules()
    batch.case_numbering = case_numbering

    def apply_one(record):
        return apply_record(session, actor, device, record, limits, batch)

    def keep_rejected(record, result):
        session.add(rejected_record(actor, device, record, result,
                                    rejected_limits.payload_max_bytes))

    results = push_batch(records, apply_one, on_rejected=keep_rejected)
    session.flush()
    if any(result.status == "rejected" for result in results):
        trim_rejected(session, actor, device, keep=rejected_limits.per_device)
    return results


def batch_photo_names(records):
    """Return the well-formed photo names the inspection records of a batch mention."""
    names = set()
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or record.get("type") not in INSPECTION_TYPES \
                or not isinstance(record.get("data"), dict):
            continue
        data = record["data"]
        items = data.get("items") if isinstance(data.get("items"), list) else []
        for photos in [data.get("photos")] + [i.get("photos") for i in items if isinstance(i, dict)]:
            if isinstance(photos, list):
                names.update(name for name in photos if is_photo_name(name))
    return sorted(names)


def rejected_record(actor, device, record, result, max_bytes):
    """Return the row keeping a refused record: its payload whole, or an excerpt if large."""
    envelope = record if isinstance(record, dict) else {}
    uuid, kind = envelope.get("client_uuid"), envelope.get("type")
    return RejectedRecord(
        device_id=device.id if device else None, user_id=actor.id,
        client_uuid=uuid if is_client_uuid(uuid) else ascii(uuid)[:64],
        record_type=kind if isinstance(kind, str) and kind.isascii() and kind.isprintable()
        and len(kind) <= 32 else ascii(kind)[:32],
        payload=storable_json(record, max_bytes),
        reasons=storable_json({"code": result.code, "message": result.message,
                               "reasons": result.reasons}, max_bytes))


def storable_json(value, max_bytes):
    """Return value if its JSON fits in max_bytes and any database stores it, else a digest.

    The digest form: {"truncated": true, "size", "sha256" of the canonical JSON, "excerpt":
    its first max_bytes as ASCII text} — NUL and lone surrogates are escaped in it.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=repr)
    if len(text) <= max_bytes and "\\u0000" not in text and not _has_lone_surrogate(value):
        return value if isinstance(value, dict) else {"value": value}
    raw = text.encode()
    return {"truncated": True, "size": len(raw), "sha256": sha256_hex(raw),
            "excerpt": text[:max_bytes]}


def _has_lone_surrogate(value):
    try:
        json.dumps(value, ensure_ascii=False, default=repr).encode()
    except UnicodeEncodeError:
        return True
    return False


def trim_rejected(session, actor, device, *, keep):
    """Keep the newest `keep` refused records of the device (of the user, without one)."""
    owner = RejectedRecord.device_id == device.id if device else \
        (RejectedRecord.user_id == actor.id) & RejectedRecord.device_id.is_(None)
    oldest_kept = session.scalar(select(RejectedRecord.id).where(owner)
                                 .order_by(RejectedRecord.id.desc()).offset(keep - 1).limit(1))
    if oldest_kept is not None:
        session.execute(delete(RejectedRecord).where(owner, RejectedRecord.id < oldest_kept))


def prune_rejected(session, *, older_than):
    """Delete the refused records kept since before older_than; return how many."""
    return session.execute(delete(RejectedRecord).where(RejectedRecord.at < older_than)).rowcount


class _BatchCache:
    """What the records of one batch share, loaded once and kept alive until it is answered."""

    def __init__(self, session, actor, records):
        # Only what could be valid: an id out of range or a NUL in a UUID must cost its own
        # record a rejection, not the whole batch a database error.
        datas = [r["data"] for r in records if isinstance(r, dict) and isinstance(r.get("data"), dict)]
        template_ids = sorted({d.get("template_id") for d in datas if is_id(d.get("template_id"))})
        premises_ids = sorted({d.get("premises_id") for d in datas if is_id(d.get("premises_id"))})
        uuids = sorted({r.get("client_uuid") for r in records
                        if isinstance(r, dict) and is_client_uuid(r.get("client_uuid"))})
        self.templates = session.scalars(
            select(ChecklistTemplate).options(selectinload(ChecklistTemplate.items))
            .where(ChecklistTemplate.id.in_(template_ids))).all() if template_ids else []
        self.pushed = {p.client_uuid: p for p in session.scalars(
            select(PushedRecord).where(PushedRecord.client_uuid.in_(uuids)))} if uuids else {}
        # Read through the actor's scope, as get_premises does: what is not here is not visible.
        self.premises = {p.id: p for p in session.scalars(
            premises_query(actor).where(Premises.id.in_(premises_ids)))} if premises_ids else {}


def apply_record(session, actor, device, record, limits, batch):
    """Apply one record once; a replay answers duplicate, other content under its UUID conflict."""
    uuid, kind = record["client_uuid"], record["type"]
    try:
        digest = audit.digest({"type": kind, "data": record["data"]})
    except UnicodeEncodeError as error:
        raise RecordRejected("validation_failed", "The record holds text that is not valid "
                             "Unicode (a lone surrogate).", {"data": ["not valid Unicode"]}) from error
    prior = batch.pushed.get(uuid)
    if prior is not None:
        return _replay(session, actor, prior, digest)
    try:
        with session.begin_nested():
            status, stored = _apply(session, actor, device, kind, record, limits, batch)
            pushed = PushedRecord(client_uuid=uuid, record_type=kind, user_id=actor.id,
                                  device_id=device.id if device else None,
                                  content_hash=digest, server_id=stored.id)
            session.add(pushed)
            session.flush()
    except IntegrityError:
        prior = session.scalar(select(PushedRecord).where(PushedRecord.client_uuid == uuid))
        if prior is None:
            raise
        return _replay(session, actor, prior, digest)
    except DataError as error:
        # A value the schemas let through but the database cannot hold (too long, out of
        # range): the savepoint is undone, the record refused, the batch goes on.
        raise RecordRejected("not_storable", "The database cannot store a value of this "
                             "record.", {"detail": type(getattr(error, "orig", error)).__name__}
                             ) from error
    batch.pushed[uuid] = pushed
    if isinstance(stored, Inspection):
        return status, stored.id, missing_photos(session, stored), list(stored.evidence_flags)
    return status, stored.id, []


def _replay(session, actor, prior, digest):
    if prior.content_hash == digest and prior.user_id == actor.id:
        inspection = session.get(Inspection, prior.server_id) \
            if prior.record_type in INSPECTION_TYPES and prior.server_id else None
        if inspection is None:
            return "duplicate", prior.server_id, []
        return ("duplicate", prior.server_id, missing_photos(session, inspection),
                list(inspection.evidence_flags))
    raise RecordConflict("uuid_conflict", "This client UUID was already pushed with other content.")


def _apply(session, actor, device, kind, record, limits, batch):
    device_uid = device.device_uid if device else None
    data = dict(record["data"])
    try:
        if kind in INSPECTION_TYPES:
            data.setdefault("client_uuid", record["client_uuid"])
            schema = InspectionIn() if kind == "inspection" else CorrectionIn()
            corrects_id = data.pop("corrects_id", None) if kind == "inspection_revision" else None
            loaded = schema.load(data)
            loaded["client_uuid"] = str(loaded["client_uuid"])
            if loaded["client_uuid"] != record["client_uuid"]:
                raise RecordRejected("uuid_mismatch", "data.client_uuid differs from the record's.",
                                     {"client_uuid": ["must equal the envelope's client_uuid"]})
            if kind == "inspection":
                inspection, status = submit_inspection(
                    session, actor, loaded, limits=limits, device_id=device_uid,
                    visible_premises=batch.premises)
            else:
                if not is_id(corrects_id):
                    raise RecordRejected("validation_failed", "Name the inspection corrected.",
                                         {"corrects_id": ["an inspection id is required"]})
                reason = loaded.pop("reason")
                inspection, status = correct_inspection(session, actor, corrects_id, loaded,
                                                        reason=reason, limits=limits,
                                                        device_id=device_uid)
            return status, inspection
        if kind == "order":
            data.setdefault("client_uuid", record["client_uuid"])
            _inspection_by_uuid(session, actor, data)
            loaded = OrderIn().load(data)
            loaded["client_uuid"] = str(loaded["client_uuid"])
            if loaded["client_uuid"] != record["client_uuid"]:
                raise RecordRejected("uuid_mismatch", "data.client_uuid differs from the record's.",
                                     {"client_uuid": ["must equal the envelope's client_uuid"]})
            order, status = issue_order(session, actor, loaded, rules=batch.deadline_rules,
                                        device_id=device_uid)
            return status, order
        if kind == "order_move":
            return "created", _move_order(session, actor, data, batch)
        premises_id = data.pop("premises_id", None)
        if not is_id(premises_id):
            raise RecordRejected("validation_failed", "Name the premises.",
                                 {"premises_id": ["an id is required"]})
        changes = PremisesUpdate(partial=UPDATE_OPTIONAL).load(data)
        base_version = changes.pop("base_version")
        batch.premises.pop(premises_id, None)  # it may leave the scope: read it again
        premises = update_premises(session, actor, premises_id, changes,
                                   base_version=base_version, device_id=device_uid)
        return "created", premises
    except ValidationError as error:
        raise RecordRejected("validation_failed", "The record does not match its schema.",
                             error.messages) from error
    except Conflict as error:
        current = (error.details or {}).get("current") if isinstance(error.details, dict) else None
        raise RecordConflict(error.code, error.message, current=_jsonable(current)) from error
    except AppError as error:
        details = error.details if isinstance(error.details, dict) else {"detail": error.details}
        raise RecordRejected(error.code, error.message, details) from error


def _inspection_by_uuid(session, actor, data):
    """An order written offline names the inspection of the same visit by its client UUID
    (inspection_client_uuid), as the terminal knows it: pushed earlier or earlier in this
    batch, by this user. Replace it with the inspection's id."""
    if "inspection_client_uuid" not in data:
        return
    named = data.pop("inspection_client_uuid")
    if "inspection_id" in data:
        raise RecordRejected("validation_failed", "Name the inspection once.",
                             {"inspection_client_uuid": ["give it or inspection_id, not both"]})
    found = session.scalar(select(Inspection.id).where(
        Inspection.client_uuid == named, Inspection.submitted_by_id == actor.id)) \
        if isinstance(named, str) and 0 < len(named) <= 36 and "\x00" not in named else None
    if found is None:
        raise RecordRejected("inspection_not_synced", "The inspection this order is issued from "
                             "has not reached the server: push it first (or in the same batch, "
                             "before the order).", {"inspection_client_uuid": [str(named)[:64]]})
    data["inspection_id"] = found


def _move_order(session, actor, data, batch):
    """Apply a move made offline; one no longer possible is a conflict carrying the order."""
    order_id = data.pop("order_id", None)
    if not is_id(order_id):
        raise RecordRejected("validation_failed", "Name the order moved.",
                             {"order_id": ["an order id is required"]})
    move = MoveIn().load(data)
    try:
        return move_order(session, actor, order_id, move, rules=batch.deadline_rules,
                          case_numbering=batch.case_numbering)
    except IllegalMove as error:
        current = order_state(get_order(session, actor, order_id))
        raise RecordConflict(error.code, error.message,
                             current={**_jsonable(current), **error.details}) from error


def _jsonable(value):
    return json.loads(audit.canonical_json(value)) if value is not None else None

