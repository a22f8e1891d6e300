"""Inspections: submit once per client UUID, never change, correct by revision."""

from datetime import UTC
from types import SimpleNamespace

from geoalchemy2.shape import to_shape
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from server.errors import Conflict, NotFound, ValidationFailed
from server.models import (
    ChecklistTemplate,
    GridCell,
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    Premises,
    User,
)
from server.models._types import utcnow
from server.models.inspections import CONCLUSIONS, INSPECTION_KINDS, ITEM_RESULTS
from server.services import audit
from server.services import changes as feed
from server.services.checklists import applicable_items
from server.services.evidence import EvidenceLimits, set_evidence
from server.services.followups import penalties
from server.services.idempotency import insert_once
from server.services.paging import page
from server.services.photos import held_photos, lock_photos
from server.services.premises import get_premises
from server.services.scope import cell_scope_clause
from server.services.tasks import covers, get_task

ENFORCEMENT_ROLES = ("officer", "supervisor")


def content_digest(data):
    """Return the digest that tells a replay (same content) from a conflict (other content)."""
    return audit.digest({key: value for key, value in data.items() if key != "client_uuid"})


def submit_inspection(session, actor, data, *, limits=EvidenceLimits(), device_id=None,
                      revision_of=None, reason="", visible_premises=None):
    """Store a submitted inspection; return (inspection, "created" | "duplicate").

    The same client UUID with the same content is a duplicate (nothing stored again); with
    other content it is a conflict carrying the stored record. visible_premises: premises by
    id already read through the actor's scope (a push batch reads them once).
    """
    # Follow-ups build on inspections (orders import this module): imported when used.
    from server.services.followups import rechecks

    existing = session.scalar(select(Inspection).where(Inspection.client_uuid == data["client_uuid"]))
    digest = content_digest(data)
    if existing is not None:
        return _replayed(session, actor, existing, digest)
    premises = (visible_premises or {}).get(data["premises_id"]) \
        or get_premises(session, actor, data["premises_id"])
    template = _template(session, data["template_id"], premises.category_code)
    inspectors = _inspectors(session, actor, data, premises)
    task, order, first_moves = _task(session, actor, data.get("task_id"), premises, revision_of)
    rechecks.check_kind(data["kind"], order)
    if order is not None:  # a recheck: exactly the order's findings
        rechecks.check_items(order, data["items"])
        expected = [SimpleNamespace(code=f["item_code"]) for f in order.findings]
    else:
        expected = applicable_items(template, premises.category_code)
    results = _item_results(data["items"], expected)
    if data["conclusion"] not in CONCLUSIONS:
        raise ValidationFailed("Unknown conclusion.", details={"conclusion": list(CONCLUSIONS)})
    if order is not None:
        rechecks.check_conclusion(data["conclusion"], rechecks.outcome_of(results))
        if revision_of is not None:
            rechecks.check_revision(session, revision_of, rechecks.outcome_of(results))
    gps = data.get("gps") or {}
    refs = _photo_refs(data)
    inspection = Inspection(
        client_uuid=data["client_uuid"], content_hash=digest, kind=data["kind"],
        task_id=task.id if task else None, premises_id=premises.id, cell_id=premises.cell_id,
        template_id=template.id, submitted_by_id=actor.id, device_id=device_id,
        device_time=data["device_time"].astimezone(UTC), server_time=utcnow(),
        gps_lon=gps.get("lon"), gps_lat=gps.get("lat"), gps_accuracy_m=gps.get("accuracy_m"),
        findings=data.get("findings", ""), conclusion=data["conclusion"],
        revision_of_id=revision_of.id if revision_of else None, revision_reason=reason,
        recheck_of_order_id=order.id if order is not None else None, inspectors=inspectors,
        photos=[InspectionPhoto(sha256=sha256, item_code=item_code) for sha256, item_code in refs],
    )
    # The evidence flags are worked out before the row is written: one INSERT, no UPDATE.
    lock_photos(session, [sha256 for sha256, _ in refs])  # an upload of one waits, or we wait
    # Only photos the sender holds count: citing someone else's hash proves nothing.
    held = held_photos(session, actor.id, {sha256 for sha256, _ in refs})
    set_evidence(inspection, to_shape(premises.location), held, limits)
    winner = insert_once(session, inspection, Inspection)
    if winner is not None:  # the same UUID arrived at the same moment elsewhere and won
        return _replayed(session, actor, winner, digest)
    # Fifteen-odd rows in one statement, without building an object for each.
    session.execute(insert(InspectionItemResult), [
        {"inspection_id": inspection.id, "item_code": code, "result": result, "note": note}
        for code, (result, note) in results.items()])
    session.expire(inspection, ["items"])
    if task is not None and task.status == "open":
        task.status = "done"
        task.updated_at = utcnow()
        feed.emit(session, "task", task.id, cell_id=premises.cell_id)
        session.flush()
        if task.kind == "post_penalty_recheck":  # the penalty records its recheck inspection
            penalties.recheck_inspected(session, actor, task, inspection)
    audit.record(session, actor, "inspection.submit", "inspection", inspection.id,
                 after={"client_uuid": inspection.client_uuid, "content": digest},
                 device_id=device_id,
                 details={"revision_of": inspection.revision_of_id} if revision_of else None)
    if order is not None and revision_of is None:  # in this transaction: both or neither
        rechecks.apply_outcome(session, actor, inspection, order, results, first_moves)
    return inspection, "created"


def _replayed(session, actor, existing, digest):
    """Answer a UUID seen before: a duplicate when the content is the same, else a conflict."""
    if existing.content_hash == digest and existing.submitted_by_id == actor.id:
        return existing, "duplicate"
    visible = session.scalar(inspections_query(actor).where(Inspection.id == existing.id))
    raise Conflict(f"Inspection {existing.client_uuid} was already submitted with other content.",
                   code="uuid_conflict",
                   details={"current": inspection_summary(session, existing) if visible else None})


def correct_inspection(session, actor, inspection_id, data, *, reason, limits=EvidenceLimits(),
                       device_id=None):
    """Submit a correction: a new revision linked to the latest one; both stay readable."""
    original = get_inspection(session, actor, inspection_id)
    if not reason or not reason.strip():
        raise ValidationFailed("Say why the inspection is corrected.", details={"reason": ["required"]})
    replay = session.scalar(select(Inspection).where(Inspection.client_uuid == data["client_uuid"]))
    if replay is not None:  # a correction resent after a lost answer
        return _replayed(session, actor, replay, content_digest(data))
    newer = session.scalar(select(Inspection.id).where(Inspection.revision_of_id == original.id))
    if newer is not None:
        raise Conflict(f"Inspection {inspection_id} was already corrected by {newer}; correct that one.",
                       code="already_corrected", details={"latest_id": newer})
    if data["premises_id"] != original.premises_id:
        raise ValidationFailed("A correction is about the same premises.",
                               details={"premises_id": ["must match the corrected inspection"]})
    return submit_inspection(session, actor, data, limits=limits, device_id=device_id,
                             revision_of=original, reason=reason.strip())


def _template(session, template_id, category_code):
    template = session.get(ChecklistTemplate, template_id)
    if template is None:
        raise ValidationFailed(f"Unknown checklist template {template_id}.", code="unknown_template",
                               details={"template_id": ["unknown template version"]})
    if category_code not in template.categories:
        raise ValidationFailed(f"Template {template.code} v{template.version} does not apply to "
                               f"{category_code} premises.", code="template_not_applicable",
                               details={"template_id": ["not for this premises category"]})
    return template


def _inspectors(session, actor, data, premises):
    kind = data["kind"]
    if kind not in INSPECTION_KINDS:
        raise ValidationFailed("Unknown inspection kind.", details={"kind": list(INSPECTION_KINDS)})
    ids = sorted(set(data.get("inspector_ids") or [actor.id]))
    if actor.id not in ids:
        raise ValidationFailed("The submitter must be one of the inspectors.",
                               details={"inspector_ids": ["must include you"]})
    if premises.cell_id is None:
        valid = []
    else:
        # The actor found the premises through their own scope (get_premises): they cover it.
        others = [user_id for user_id in ids if user_id != actor.id]
        users = session.scalars(select(User).where(User.id.in_(others), User.active)).all() \
            if others else []
        valid = [actor] if actor.active else []
        valid += [user for user in users if covers(session, user, premises.cell)]
        valid.sort(key=lambda user: user.id)
    if len(valid) != len(ids):
        raise ValidationFailed("Every inspector must be active staff whose cells cover the premises.",
                               code="inspector_out_of_scope",
                               details={"inspector_ids": sorted(set(ids) - {u.id for u in valid})})
    if kind == "enforcement":
        officers = [u for u in valid if u.role in ENFORCEMENT_ROLES]
        if len(officers) < 2 or len(officers) != len(valid):
            raise ValidationFailed("An enforcement check needs at least two enforcement officers "
                                   "(执法检查须两名以上执法人员).", code="too_few_officers",
                                   details={"inspector_ids": ["at least two officers"]})
    return valid


def _task(session, actor, task_id, premises, revision_of=None):
    """Return (task, order rechecked by it or None, moves the recheck makes before its outcome)."""
    from server.services.followups import rechecks

    if task_id is None:
        return None, None, []
    try:
        task = get_task(session, actor, task_id)
    except NotFound:
        rechecks.refuse_unassigned(session, actor, task_id)  # 403 for an order's recheck in scope
        raise
    if task.premises_id != premises.id:
        raise ValidationFailed("The task is about another premises.",
                               details={"task_id": ["other premises"]})
    order = rechecks.order_rechecked_by(session, task)
    if revision_of is not None and revision_of.task_id == task.id:
        return task, order, []  # a correction keeps the task its original completed
    # An order no longer open for a recheck says its state (its task was closed with it).
    first_moves = rechecks.recheck_path(order, actor.role) if order is not None else []
    if task.status != "open":
        raise Conflict(f"Task {task_id} is {task.status}.", code="task_not_open")
    return task, order, first_moves


def _item_results(items, applicable):
    expected = {item.code for item in applicable}
    results, problems = {}, {}
    for entry in items:
        code = entry["item_code"]
        if code in results:
            problems[code] = ["given twice"]
        elif code not in expected:
            problems[code] = ["not an item of this template for this premises"]
        elif entry["result"] not in ITEM_RESULTS:
            problems[code] = [f"result must be one of {list(ITEM_RESULTS)}"]
        elif entry["result"] == "non_compliant" and not (entry.get("note") or "").strip():
            problems[code] = ["a non-compliant item needs a note saying what was found"]
        results[code] = (entry["result"], entry.get("note") or "")
    missing = sorted(expected - set(results))
    if missing:
        problems["missing"] = missing
    if problems:
        raise ValidationFailed("The item results do not match the checklist.",
                               code="items_invalid", details={"items": problems})
    return results


def _photo_refs(data):
    refs = [(sha, None) for sha in data.get("photos", [])]
    for entry in data["items"]:
        refs.extend((sha, entry["item_code"]) for sha in entry.get("photos", []))
    seen, unique = set(), []
    for sha, item_code in refs:
        if (sha, item_code) not in seen:
            seen.add((sha, item_code))
            unique.append((sha, item_code))
    return unique


def missing_photos(session, inspection):
    """Return the hashes an inspection names whose bytes its sender has not sent yet.

    A photo stored from someone else's upload is still missing: the sender's terminal sends
    it (the server answers 200), which proves it has the photo and completes the record.
    """
    hashes = {p.sha256 for p in inspection.photos}
    held = {photo.sha256 for photo in held_photos(session, inspection.submitted_by_id, hashes)}
    return sorted(hashes - held)


def list_inspections(session, actor, *, premises_id=None, flagged=False, limit, offset=0, cursor=None):
    """Return a page of the inspections in the actor's scope, filtered."""
    query = inspections_query(actor)
    if premises_id is not None:
        query = query.where(Inspection.premises_id == premises_id)
    if flagged:
        query = query.where(Inspection.has_flags)
    # What the list shows of each row, read for the whole page at once.
    query = query.options(selectinload(Inspection.items), selectinload(Inspection.photos),
                          selectinload(Inspection.inspectors))
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def inspections_query(actor):
    """Select the inspections on premises in the actor's scope."""
    query = select(Inspection).order_by(Inspection.id)
    if actor.is_admin:
        return query
    # Visibility follows the premises' current cell (maps change); cell_id keeps where it was.
    return (query.join(Premises, Premises.id == Inspection.premises_id)
            .join(GridCell, GridCell.id == Premises.cell_id).where(cell_scope_clause(actor)))


def get_inspection(session, actor, inspection_id):
    """Return an inspection in scope, or raise NotFound."""
    inspection = session.scalar(inspections_query(actor).where(Inspection.id == inspection_id))
    if inspection is None:
        raise NotFound(f"Inspection {inspection_id} not found.")
    return inspection


def inspection_summary(session, inspection):
    """Return what a client needs to see of a stored inspection."""
    latest = session.scalar(select(Inspection.id).where(Inspection.revision_of_id == inspection.id))
    missing = missing_photos(session, inspection)
    return {"id": inspection.id, "client_uuid": inspection.client_uuid,
            "server_time": inspection.server_time.isoformat(),
            "premises_id": inspection.premises_id, "revision_of_id": inspection.revision_of_id,
            "corrected_by_id": latest, "photos_missing": missing, "complete": not missing,
            "evidence_flags": inspection.evidence_flags}
