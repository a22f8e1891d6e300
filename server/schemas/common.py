"""Pieces shared by several schemas."""

from marshmallow import Schema, fields, validate


class PageArgs(Schema):
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Int(load_default=0, validate=validate.Range(min=0))


def labels_of(labels, value):
    """Return {"zh", "en"} for an enum value."""
    zh, en = labels.get(value, (value, value))
    return {"zh": zh, "en": en}
