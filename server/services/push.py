"""Apply pushed records through the same services as the REST API, each in its own savepoint."""

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from server.errors import AppError, Conflict
from server.models import ChecklistTemplate, Inspection, Premises, PushedRecord, RejectedRecord
from server.schemas.inspections import CorrectionIn, InspectionIn
from server.schemas.premises import UPDATE_OPTIONAL, PremisesUpdate
from server.services import audit
from server.services.inspections import correct_inspection, missing_photos, submit_inspection
from server.services.premises import premises_query, update_premises
from sync.protocol import RecordConflict, RecordRejected, push_batch


def push(session, actor, device, records, *, limits):
    """Answer every record of a batch: created | duplicate | rejected | conflict."""

    # Read once what the records share (templates with their items, earlier pushes, premises
    # in scope) and keep it alive for the whole batch: the session holds objects only weakly.
    batch = _BatchCache(session, actor, records)

    def apply_one(record):
        return apply_record(session, actor, device, record, limits, batch)

    def keep_rejected(record, result):
        session.add(RejectedRecord(
            device_id=device.id if device else None, user_id=actor.id,
            client_uuid=str(record.get("client_uuid") if isinstance(record, dict) else "")[:64],
            record_type=str(record.get("type") if isinstance(record, dict) else "")[:32],
            payload=record if isinstance(record, dict) else {"raw": repr(record)[:10000]},
            reasons={"code": result.code, "message": result.message, "reasons": result.reasons}))

    results = push_batch(records, apply_one, on_rejected=keep_rejected)
    session.flush()
    return results


class _BatchCache:
    """What the records of one batch share, loaded once and kept alive until it is answered."""

    def __init__(self, session, actor, records):
        datas = [r["data"] for r in records if isinstance(r, dict) and isinstance(r.get("data"), dict)]
        template_ids = sorted({d.get("template_id") for d in datas
                               if isinstance(d.get("template_id"), int)})
        premises_ids = sorted({d.get("premises_id") for d in datas
                               if isinstance(d.get("premises_id"), int)})
        uuids = sorted({r.get("client_uuid") for r in records
                        if isinstance(r, dict) and isinstance(r.get("client_uuid"), str)})
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
    digest = audit.digest({"type": kind, "data": record["data"]})
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
    batch.pushed[uuid] = pushed
    missing = missing_photos(session, stored) if isinstance(stored, Inspection) else []
    return status, stored.id, missing


def _replay(session, actor, prior, digest):
    if prior.content_hash == digest and prior.user_id == actor.id:
        missing = []
        if prior.record_type in ("inspection", "inspection_revision") and prior.server_id:
            missing = missing_photos(session, session.get(Inspection, prior.server_id))
        return "duplicate", prior.server_id, missing
    raise RecordConflict("uuid_conflict", "This client UUID was already pushed with other content.")


def _apply(session, actor, device, kind, record, limits, batch):
    device_uid = device.device_uid if device else None
    data = dict(record["data"])
    try:
        if kind in ("inspection", "inspection_revision"):
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
                if not isinstance(corrects_id, int):
                    raise RecordRejected("validation_failed", "Name the inspection corrected.",
                                         {"corrects_id": ["an inspection id is required"]})
                reason = loaded.pop("reason")
                inspection, status = correct_inspection(session, actor, corrects_id, loaded,
                                                        reason=reason, limits=limits,
                                                        device_id=device_uid)
            return status, inspection
        premises_id = data.pop("premises_id", None)
        if not isinstance(premises_id, int):
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


def _jsonable(value):
    import json

    return json.loads(audit.canonical_json(value)) if value is not None else None

