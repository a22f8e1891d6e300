"""Schemas of the follow-ups API: shape only; the services check orders against inspections."""

from marshmallow import Schema, fields, validate

from server.models.checklists import SEVERITIES
from server.models.followups import (
    DEADLINE_SOURCES,
    DOCUMENT_KINDS,
    DOCUMENT_LAYOUTS,
    NOTIFICATION_KINDS,
    ORDER_STATES,
)
from server.models.grid import LEVEL_LABELS
from server.models.inspections import ITEM_RESULTS
from server.schemas.common import Id, PageArgs, Text, labels_of
from server.schemas.inspections import SHA256
from server.services.followups.orders import MOVE_FIELDS
from server.services.followups.overdue import OVERDUE_KINDS
from server.services.followups.transitions import shipped_transitions

ITEM_CODE = Text(validate=validate.Length(min=1, max=32))


class OrderIn(Schema):
    client_uuid = fields.UUID(required=True)
    inspection_id = Id(required=True)
    findings = fields.List(ITEM_CODE, required=True, validate=validate.Length(min=1, max=200))
    measures = Text(required=True, validate=validate.Length(min=1, max=5000))
    deadline = fields.Date(allow_none=True, load_default=None)
    # The complaint (same premises, being verified or verified) this order answers.
    complaint_id = Id()


class MoveIn(Schema):
    move = Text(required=True, validate=validate.OneOf(MOVE_FIELDS))
    note = Text(validate=validate.Length(max=5000))
    photos = fields.List(Text(validate=SHA256), validate=validate.Length(max=50))
    deadline = fields.Date()
    measures = Text(validate=validate.Length(min=1, max=5000))
    reason = Text(validate=validate.Length(max=2000))


class OrderQuery(PageArgs):
    state = Text(validate=validate.OneOf(ORDER_STATES))
    premises_id = Id()


class FindingOut(Schema):
    item_code = fields.Str()
    text = fields.Str()
    legal_basis = fields.Str()
    severity = fields.Str()
    severity_label = fields.Function(lambda f: labels_of(SEVERITIES, f["severity"]))
    note = fields.Str()
    photos = fields.List(fields.Str(), metadata={
        "description": "SHA-256 of the issuing inspection's photos of this item (before)"})


def _move_label(name):
    label = shipped_transitions().labels.get(name, {})
    return {"zh": label.get("zh", name), "en": label.get("en", name)}


class MoveOut(Schema):
    move = fields.Str()
    move_label = fields.Function(lambda m: _move_label(m.move))
    from_state = fields.Str()
    to_state = fields.Str()
    by_id = fields.Int()
    at = fields.DateTime()
    note = fields.Str()
    photos = fields.List(fields.Str())
    details = fields.Dict()


def _reissued_as(order):
    return next((m.details.get("reissued_as_id") for m in order.moves if m.move == "reissue"), None)


class OrderSchema(Schema):
    id = fields.Int()
    client_uuid = fields.Str()
    premises_id = fields.Int()
    premises_name = fields.Function(lambda o: o.premises.name)
    cell_id = fields.Int(allow_none=True)
    inspection_id = fields.Int()
    findings = fields.List(fields.Nested(FindingOut), attribute="findings_with_photos")
    measures = fields.Str()
    issued_on = fields.Date()
    deadline = fields.Date()
    deadline_source = fields.Str()
    deadline_source_label = fields.Function(lambda o: labels_of(DEADLINE_SOURCES, o.deadline_source))
    state = fields.Str()
    state_label = fields.Function(lambda o: labels_of(ORDER_STATES, o.state))
    reissue_of_id = fields.Int(allow_none=True)
    complaint_id = fields.Int(allow_none=True)
    reissued_as_id = fields.Function(_reissued_as)
    task_id = fields.Int(allow_none=True)
    issued_by_id = fields.Int()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    moves = fields.List(fields.Nested(MoveOut))


class RecheckResultOut(Schema):
    result = fields.Str()
    result_label = fields.Function(lambda r: labels_of(ITEM_RESULTS, r["result"]))
    note = fields.Str()
    photos = fields.List(fields.Str())


class RecheckFindingOut(Schema):
    item_code = fields.Str()
    text = fields.Str()
    legal_basis = fields.Str()
    severity = fields.Str()
    severity_label = fields.Function(lambda f: labels_of(SEVERITIES, f["severity"]))
    before = fields.Nested(RecheckResultOut, allow_none=True)
    after = fields.Nested(RecheckResultOut, allow_none=True)


class RecheckerOut(Schema):
    id = fields.Int()
    display_name = fields.Str(allow_none=True)


class ReportedOut(Schema):
    note = fields.Str()
    photos = fields.List(fields.Str())
    by_id = fields.Int()
    at = fields.DateTime()


class RecheckSchema(Schema):
    """An order's findings side by side: as issued (before) and as rechecked (after)."""

    order_id = fields.Int()
    state = fields.Str()
    state_label = fields.Function(lambda r: labels_of(ORDER_STATES, r["state"]))
    inspection_id = fields.Int()
    recheck_inspection_id = fields.Int(allow_none=True)
    rechecked_by = fields.Nested(RecheckerOut, allow_none=True)
    rechecked_at = fields.DateTime(allow_none=True)
    outcome = fields.Str(allow_none=True)
    report_rectified = fields.Nested(ReportedOut, allow_none=True)
    findings = fields.List(fields.Nested(RecheckFindingOut))


class DocumentQuery(Schema):
    layout = Text(load_default="a4", validate=validate.OneOf(DOCUMENT_LAYOUTS))


class DocumentSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Function(lambda d: labels_of(DOCUMENT_KINDS, d.kind))
    subject_kind = fields.Str()
    subject_id = fields.Int()
    # An order's document: the order (kept for the terminals; None for other kinds).
    order_id = fields.Function(lambda d: d.subject_id if d.subject_kind == "rectification_order"
                               else None)
    number = fields.Str()
    year = fields.Int()
    serial = fields.Int()
    issued_at = fields.DateTime()
    premises_id = fields.Int()
    cell_id = fields.Int(allow_none=True)
    verification_token = fields.Str()


class OverdueQuery(PageArgs):
    kind = Text(validate=validate.OneOf(OVERDUE_KINDS))
    cell_id = Id()
    min_days = fields.Int(load_default=1, validate=validate.Range(min=0, max=3660))


class OwnerOut(Schema):
    id = fields.Int()
    username = fields.Str()
    display_name = fields.Str()


class OverdueItem(Schema):
    kind = fields.Str()
    kind_label = fields.Function(lambda item: labels_of(OVERDUE_KINDS, item["kind"]))
    id = fields.Int()
    due_date = fields.Date()
    days_overdue = fields.Int()
    cell_id = fields.Int(allow_none=True)
    premises_id = fields.Int(allow_none=True)
    premises_name = fields.Str(allow_none=True)
    owners = fields.List(fields.Nested(OwnerOut))


class NotificationQuery(PageArgs):
    unread = fields.Bool(load_default=False)
    kind = Text(validate=validate.OneOf(NOTIFICATION_KINDS))


def _level_label(notification):
    if notification.kind == "escalation":
        return labels_of(LEVEL_LABELS, notification.level)
    days = int(notification.level.removeprefix("before_"))
    if days == 0:
        return {"zh": "今日到期", "en": "Due today"}
    return {"zh": f"{days}天后到期", "en": f"Due in {days} days"}


class NotificationSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Function(lambda n: labels_of(NOTIFICATION_KINDS, n.kind))
    subject_kind = fields.Str()
    subject_kind_label = fields.Function(lambda n: labels_of(OVERDUE_KINDS, n.subject_kind))
    subject_id = fields.Int()
    due_date = fields.Date()
    level = fields.Str()
    level_label = fields.Function(_level_label)
    cell_id = fields.Int(allow_none=True)
    premises_id = fields.Int(allow_none=True)
    raised_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
