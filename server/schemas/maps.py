"""Schemas of the maps API: map versions, boundary-file options, validation reports."""

from marshmallow import Schema, fields, validate

from server.models.grid import LEVELS, MAP_STATUS_LABELS
from server.schemas.common import Id, Text, labels_of


class MapSchema(Schema):
    id = fields.Int(dump_only=True)
    jurisdiction_code = Text()
    name = Text()
    version = fields.Int(dump_only=True)
    status = Text(dump_only=True)
    status_label = fields.Function(lambda m: labels_of(MAP_STATUS_LABELS, m.status), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    activated_at = fields.DateTime(dump_only=True, allow_none=True)
    retired_at = fields.DateTime(dump_only=True, allow_none=True)


class MapCreate(Schema):
    jurisdiction_code = Text(required=True, validate=validate.Regexp(r"^[0-9A-Za-z_-]{1,32}$"))
    name = Text(required=True, validate=validate.Length(min=1, max=128))


class FileOptions(Schema):
    """Options of a GeoJSON upload, given in the query string."""

    code_property = Text(load_default="code", validate=validate.Length(min=1, max=64))
    name_property = Text(load_default="name", validate=validate.Length(min=1, max=64))
    parent_property = Text(validate=validate.Length(min=1, max=64))
    link = Text(validate=validate.OneOf(["code", "containment"]))
    repair = fields.Bool(load_default=False)
    tolerance_m2 = fields.Float(validate=validate.Range(min=0, max=1e9))


class ImportOptions(FileOptions):
    level = Text(required=True, validate=validate.OneOf(LEVELS))


class ReportSchema(Schema):
    """A validation report: every problem with where it is."""

    ok = fields.Bool()
    cell_count = fields.Int()
    errors = fields.List(fields.Dict())
    warnings = fields.List(fields.Dict())
    repairs = fields.List(fields.Dict())


class ActivationResult(Schema):
    map_id = Id()
    retired = fields.List(fields.Int())
    assignments_moved = fields.Int()
    assignments_unmatched = fields.List(fields.Dict())
    premises_moved = fields.Int()
    premises_orphaned = fields.Int()
    report = fields.Nested(ReportSchema)
