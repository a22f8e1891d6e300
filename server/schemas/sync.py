"""Schemas of the terminal sync protocol's HTTP messages."""

from marshmallow import Schema, fields, validate

from server.schemas.common import Text
from server.schemas.users import UserSchema


class DeviceRegister(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_uid = Text(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._:-]{4,64}$", error="4-64 letters, digits or ._:-"))
    name = Text(load_default="", validate=validate.Length(max=128))


class DeviceSchema(Schema):
    id = fields.Int()
    device_uid = fields.Str()
    name = fields.Str()
    user_id = fields.Int()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)


class DeviceRegistered(Schema):
    device_token = fields.Str()
    expires_at = fields.DateTime()
    device = fields.Nested(DeviceSchema)
    user = fields.Nested(UserSchema)


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
