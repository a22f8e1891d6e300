"""Schemas of the checklists API: templates and their items (一单)."""

from marshmallow import Schema, fields, validate

from server.models.checklists import SEVERITIES
from server.schemas.common import Text, labels_of


class ChecklistItemSchema(Schema):
    code = fields.Str()
    text = fields.Str()
    legal_basis = fields.Str()
    severity = fields.Str()
    severity_label = fields.Function(lambda i: labels_of(SEVERITIES, i.severity))
    categories = fields.List(fields.Str())


class ChecklistSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    version = fields.Int()
    title = fields.Str()
    title_en = fields.Str()
    categories = fields.List(fields.Str())
    status = fields.Str()
    items = fields.List(fields.Nested(ChecklistItemSchema))


class ChecklistQuery(Schema):
    category_code = Text(validate=validate.Length(max=32))
