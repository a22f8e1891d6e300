"""User schemas."""

from marshmallow import Schema, fields, validate

from server.models.user import ROLE_LABELS, ROLES
from server.schemas.common import Text, labels_of


class UserSchema(Schema):
    id = fields.Int(dump_only=True)
    username = Text()
    display_name = Text()
    role = Text()
    role_label = fields.Function(lambda user: labels_of(ROLE_LABELS, user.role), dump_only=True)
    active = fields.Bool()


class UserCreate(Schema):
    username = Text(required=True, validate=validate.Regexp(
        r"^[\w.\-@\u4e00-\u9fff]{1,64}$", error="1-64 letters, digits, Chinese characters or ._-@"))
    password = Text(required=True, load_only=True, validate=validate.Length(min=8, max=256))
    role = Text(required=True, validate=validate.OneOf(ROLES))
    display_name = Text(load_default="", validate=validate.Length(max=128))
