"""Sign-in and token schemas."""

from marshmallow import Schema, fields, validate

from server.schemas.users import UserSchema


class TokenRequest(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class TokenResponse(Schema):
    token = fields.Str()
    expires_at = fields.DateTime()
    user = fields.Nested(UserSchema)
