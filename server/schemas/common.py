"""Pieces shared by several schemas."""

from marshmallow import Schema, fields, validate

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def Id(**kwargs):  # noqa: N802 - reads like a field class
    """An integer id field: 1 … 2³¹-1, so no database ever sees an out-of-range number."""
    return fields.Int(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class Text(fields.Str):
    """A string without NUL or other control characters (PostgreSQL refuses NUL), and without
    lone surrogates (JSON can spell them, UTF-8 cannot: no database stores them)."""

    default_error_messages = {"control": "Must not contain control characters.",
                              "surrogate": "Must be valid Unicode (no lone surrogates)."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if any(ord(char) < 32 and char not in "\t\n\r" for char in text):
            raise self.make_error("control")
        if not text.isascii() and any(0xD800 <= ord(char) <= 0xDFFF for char in text):
            raise self.make_error("surrogate")
        return text


class PageArgs(Schema):
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Int(load_default=0, validate=validate.Range(min=0, max=10**9))
    # The X-Next-Cursor header of the previous page: deep pages cost what the first costs.
    cursor = fields.Str(validate=validate.Length(min=1, max=1000))


def labels_of(labels, value):
    """Return {"zh", "en"} for an enum value."""
    zh, en = labels.get(value, (value, value))
    return {"zh": zh, "en": en}
