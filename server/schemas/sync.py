"""Schemas of the terminal sync protocol's HTTP messages."""

from marshmallow import Schema, fields, validate

from server.schemas.common import Text


class PushRequest(Schema):
    records = fields.List(fields.Dict(), required=True)


class PushResult(Schema):
    client_uuid = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)
    status = fields.Str()
    server_id = fields.Int()
    code = fields.Str()
    message = fields.Str()
    reasons = fields.Dict()
    current = fields.Dict(allow_none=True)
    photos_missing = fields.List(fields.Str())
    evidence_flags = fields.List(fields.Dict(), metadata={
        "description": "inspection records (created, duplicate): the on-site evidence flags "
                       "worked out when the record was accepted, e.g. no_gps, "
                       "far_from_premises, clock_skew; empty when none"})


class PushResponse(Schema):
    protocol = fields.Int()
    results = fields.List(fields.Nested(PushResult))


class PullQuery(Schema):
    cursor = Text(validate=validate.Length(max=200))
    scope = Text(validate=validate.Length(max=40))
    limit = fields.Int(load_default=200, validate=validate.Range(min=1, max=1000))


class PullItem(Schema):
    type = fields.Str()
    id = fields.Int()
    op = fields.Str()
    data = fields.Dict(allow_none=True)


class PullResponse(Schema):
    protocol = fields.Int()
    items = fields.List(fields.Nested(PullItem))
    next_cursor = fields.Str()
    has_more = fields.Bool()
    scope = fields.Str()
    reset = fields.Bool()
