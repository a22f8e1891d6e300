"""Sign-in and token schemas."""

from marshmallow import Schema, fields, validate

from server.schemas.common import Text
from server.schemas.users import UserSchema


class TokenRequest(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class TokenResponse(Schema):
    token = Text()
    expires_at = fields.DateTime()
    user = fields.Nested(UserSchema)
