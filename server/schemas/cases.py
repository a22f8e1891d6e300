"""Schemas of the cases API (案件): shape only; the services check sources, stages and roles."""

from marshmallow import Schema, fields, validate

from server.models.cases import CASE_SOURCES, CASE_STATES, TRANSFER_KINDS
from server.schemas.common import Id, PageArgs, Text, labels_of
from server.services.followups.case_stages import load_stages


def _stage_label(name):
    return labels_of(load_stages().labels, name)


class SourceIn(Schema):
    kind = Text(required=True, validate=validate.OneOf(CASE_SOURCES))
    id = Id(required=True)


class CaseIn(Schema):
    client_uuid = fields.UUID(required=True)
    source = fields.Nested(SourceIn, required=True)
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    summary = Text(validate=validate.Length(max=5000))
    # Officers, supervisors or admins handling it (default: the opener); told when overdue.
    handler_ids = fields.List(Id(), validate=validate.Length(min=1, max=20))


class AdvanceIn(Schema):
    stage = Text(required=True, validate=validate.OneOf(load_stages().names))
    note = Text(validate=validate.Length(max=5000))
    # Required when leaving a stage whose complete_fields name it (决定).
    decision = Text(validate=validate.Length(max=5000))


class TransferIn(Schema):
    kind = Text(required=True, validate=validate.OneOf(TRANSFER_KINDS))
    receiving_body = Text(required=True, validate=validate.Length(min=1, max=200))
    reference = Text(validate=validate.Length(max=100))
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))
    transferred_on = fields.Date()


class CloseIn(Schema):
    note = Text(validate=validate.Length(max=5000))


class CaseQuery(PageArgs):
    state = Text(validate=validate.OneOf(CASE_STATES))
    stage = Text(validate=validate.OneOf(load_stages().names))
    premises_id = Id()
    overdue = fields.Bool(load_default=False)


class CaseStageOut(Schema):
    stage = fields.Str()
    stage_label = fields.Function(lambda row: _stage_label(row.stage))
    entered_on = fields.Date()
    due_on = fields.Date()
    completed_on = fields.Date(allow_none=True)
    entered_by_id = fields.Int()
    completed_by_id = fields.Int(allow_none=True)
    note = fields.Str()
    details = fields.Dict()


class CaseTransferOut(Schema):
    kind = fields.Str()
    kind_label = fields.Function(lambda row: labels_of(TRANSFER_KINDS, row.kind))
    transferred_on = fields.Date()
    receiving_body = fields.Str()
    reference = fields.Str()
    reason = fields.Str()
    by_id = fields.Int()
    at = fields.DateTime()


def _due_on(case):
    due = next((row.due_on for row in case.stages if row.completed_on is None), None)
    return due.isoformat() if due else None


class CaseSchema(Schema):
    id = fields.Int()
    client_uuid = fields.Str()
    number = fields.Str()
    premises_id = fields.Int()
    premises_name = fields.Function(lambda c: c.premises.name)
    cell_id = fields.Int(allow_none=True)
    source = fields.Function(lambda c: {"kind": c.source_kind, "id": c.source_id,
                                        "label": labels_of(CASE_SOURCES, c.source_kind)})
    title = fields.Str()
    summary = fields.Str()
    stage = fields.Str()
    stage_label = fields.Function(lambda c: _stage_label(c.stage))
    # The current stage's due day (None once closed); overdue is computed, never stored.
    due_on = fields.Function(_due_on)
    state = fields.Str()
    state_label = fields.Function(lambda c: labels_of(CASE_STATES, c.state))
    opened_by_id = fields.Int()
    opened_on = fields.Date()
    filed_on = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    decision_summary = fields.Str(allow_none=True)
    handler_ids = fields.Function(lambda c: [user.id for user in c.handlers])
    stages = fields.List(fields.Nested(CaseStageOut))
    # The penalty decisions (行政处罚决定) that ended it: GET /api/v1/followups/penalties/{id}.
    penalties = fields.Function(lambda c: [
        {"id": p.id, "decision_number": p.decision_number, "decided_on": p.decided_on.isoformat(),
         "type": p.type} for p in c.penalties])
    transfers = fields.List(fields.Nested(CaseTransferOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
