"""Schemas of the assignments API: staff on cells (定员、定责)."""

from marshmallow import Schema, fields, validate

from server.schemas.common import Id, PageArgs, Text


class AssignmentSchema(Schema):
    id = fields.Int(dump_only=True)
    user_id = Id(required=True)
    cell_id = Id(required=True)
    cell_code = fields.Function(lambda a: a.cell.code, dump_only=True)
    duty = fields.List(Text(validate=validate.Length(min=1, max=64)), load_default=list)
    valid_from = fields.Date(load_default=None)
    valid_to = fields.Date(allow_none=True, load_default=None)
    ended_at = fields.DateTime(dump_only=True)


class AssignmentQuery(PageArgs):
    user_id = Id()
    cell_id = Id()
    include_ended = fields.Bool(load_default=False)
