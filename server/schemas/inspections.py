"""Inspection schemas: shape only; the service checks them against the checklist."""

from marshmallow import Schema, fields, validate

from server.models.inspections import CONCLUSIONS, INSPECTION_KINDS, ITEM_RESULTS
from server.schemas.common import Id, PageArgs, Text, labels_of

# \Z, not $: $ also matches before a trailing newline, which no photo name has.
SHA256 = validate.Regexp(r"^[0-9a-f]{64}\Z", error="a photo is named by its SHA-256: 64 lowercase hex digits")


class GpsFix(Schema):
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    accuracy_m = fields.Float(validate=validate.Range(min=0, max=1e6), allow_none=True)


class ItemResultIn(Schema):
    item_code = Text(required=True, validate=validate.Length(min=1, max=32))
    result = Text(required=True, validate=validate.OneOf(ITEM_RESULTS))
    note = Text(load_default="", validate=validate.Length(max=2000))
    photos = fields.List(Text(validate=SHA256), load_default=list, validate=validate.Length(max=50))


class InspectionIn(Schema):
    client_uuid = fields.UUID(required=True)
    kind = Text(required=True, validate=validate.OneOf(INSPECTION_KINDS))
    task_id = Id(allow_none=True)
    premises_id = Id(required=True)
    inspector_ids = fields.List(Id(), validate=validate.Length(min=1, max=10))
    template_id = Id(required=True)
    device_time = fields.AwareDateTime(required=True)
    gps = fields.Nested(GpsFix, allow_none=True)
    items = fields.List(fields.Nested(ItemResultIn), required=True,
                        validate=validate.Length(min=1, max=500))
    photos = fields.List(Text(validate=SHA256), load_default=list, validate=validate.Length(max=100))
    findings = Text(load_default="", validate=validate.Length(max=10000))
    conclusion = Text(required=True, validate=validate.OneOf(CONCLUSIONS))


class CorrectionIn(InspectionIn):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class ItemResultOut(Schema):
    item_code = fields.Str()
    result = fields.Str()
    result_label = fields.Function(lambda r: labels_of(ITEM_RESULTS, r.result))
    note = fields.Str()


class InspectionOut(Schema):
    id = fields.Int()
    client_uuid = fields.Str()
    kind = fields.Str()
    kind_label = fields.Function(lambda i: labels_of(INSPECTION_KINDS, i.kind))
    task_id = fields.Int(allow_none=True)
    premises_id = fields.Int()
    cell_id = fields.Int(allow_none=True)
    template_id = fields.Int()
    submitted_by_id = fields.Int()
    inspector_ids = fields.Function(lambda i: [u.id for u in i.inspectors])
    device_id = fields.Str(allow_none=True)
    device_time = fields.DateTime()
    server_time = fields.DateTime()
    gps_lon = fields.Float(allow_none=True)
    gps_lat = fields.Float(allow_none=True)
    gps_accuracy_m = fields.Float(allow_none=True)
    distance_m = fields.Float(allow_none=True)
    findings = fields.Str()
    conclusion = fields.Str()
    conclusion_label = fields.Function(lambda i: labels_of(CONCLUSIONS, i.conclusion))
    revision_of_id = fields.Int(allow_none=True)
    revision_reason = fields.Str()
    recheck_of_order_id = fields.Int(allow_none=True)
    evidence_flags = fields.List(fields.Dict())
    items = fields.List(fields.Nested(ItemResultOut))
    photos = fields.Function(lambda i: [{"sha256": p.sha256, "item_code": p.item_code}
                                        for p in i.photos])


class SubmitResult(Schema):
    status = fields.Str()
    inspection = fields.Nested(InspectionOut)
    photos_missing = fields.List(fields.Str())
    complete = fields.Bool()


class InspectionQuery(PageArgs):
    premises_id = Id()
    flagged = fields.Bool(load_default=False)
