"""Schemas of the devices API: registering a terminal, its device token."""

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
