"""Schemas of the complaints API (投诉举报). Coordinates are WGS84 (EPSG:4326) lon/lat.

Two shapes of a complaint: ComplaintSchema (the field shape: what verification needs, also
the pull item) and ComplaintOfficeSchema (adds the complainant and the feedback, for the
roles in services/followups/complaints.py SEES_COMPLAINANT).
"""

from geoalchemy2.shape import to_shape
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.models.complaints import (
    COMPLAINT_CHANNELS,
    COMPLAINT_STATUSES,
    VERIFICATION_OUTCOMES,
)
from server.schemas.common import Id, PageArgs, Text, labels_of

MAX_CONTENT = 5000
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def resident_id_valid(number):
    """Return whether an 18-character resident ID number (居民身份证号码) has its check character."""
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], ID_WEIGHTS))
    return ID_CHECK[total % 11] == number[17].upper()


def _point(complaint):
    return to_shape(complaint.location) if complaint.location is not None else None


class ComplaintSchema(Schema):
    """The field shape: the facts and the place, never who complained."""

    id = fields.Int()
    channel = fields.Str()
    channel_label = fields.Function(lambda c: labels_of(COMPLAINT_CHANNELS, c.channel))
    received_at = fields.DateTime()
    category_code = fields.Str()
    category_label = fields.Function(lambda c: {"zh": c.category.label_zh,
                                                "en": c.category.label_en})
    content = fields.Str()
    address = fields.Str()
    lon = fields.Function(lambda c: _point(c).x if c.location is not None else None)
    lat = fields.Function(lambda c: _point(c).y if c.location is not None else None)
    premises_id = fields.Int(allow_none=True)
    premises_name = fields.Function(lambda c: c.premises.name if c.premises else None)
    real_name = fields.Function(lambda c: not c.anonymous)
    cell_id = fields.Int(allow_none=True)
    status = fields.Str()
    status_label = fields.Function(lambda c: labels_of(COMPLAINT_STATUSES, c.status))
    task_id = fields.Int(allow_none=True)
    verification_result = fields.Str(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class ComplaintFieldSchema(ComplaintSchema):
    """The field shape over the API: with the orders and cases the complaint opened (the
    pull item stays ComplaintSchema)."""

    orders = fields.Function(lambda c: [{"order_id": o.id, "state": o.state} for o in c.orders])
    cases = fields.Function(lambda c: [{"case_id": k.id, "number": k.number, "state": k.state}
                                       for k in c.cases])


class ComplainantSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    phone = Text(required=True, validate=validate.Regexp(r"^\+?[0-9][0-9 -]{4,30}[0-9]$"))
    id_number = Text(allow_none=True, validate=validate.Length(equal=18))

    @validates_schema
    def check_id_number(self, data, **kwargs):
        number = data.get("id_number")
        if number and not resident_id_valid(number):
            raise ValidationError("Not a resident ID number (check character).", "id_number")


class ComplaintOfficeSchema(ComplaintFieldSchema):
    """The office shape: the field shape, the complainant and the feedback."""

    complainant = fields.Function(
        lambda c: ComplainantSchema().dump(c.complainant) if c.complainant else None)
    feedback_due = fields.Date(allow_none=True)
    feedback_text = fields.Str(allow_none=True)
    feedback_by_id = fields.Int(allow_none=True)
    feedback_at = fields.DateTime(allow_none=True)
    verified_by_id = fields.Int(allow_none=True)
    entered_by_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()


class ComplaintCreate(Schema):
    channel = Text(required=True, validate=validate.OneOf(COMPLAINT_CHANNELS))
    received_at = fields.AwareDateTime(load_default=None, allow_none=True)
    category_code = Text(required=True, validate=validate.Length(min=1, max=32))
    content = Text(required=True, validate=validate.Length(min=1, max=MAX_CONTENT))
    address = Text(load_default="", validate=validate.Length(max=200))
    lon = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    premises_id = Id(allow_none=True)
    anonymous = fields.Bool(required=True)
    complainant = fields.Nested(ComplainantSchema, allow_none=True)

    @validates_schema
    def check_complaint(self, data, **kwargs):
        if not data.get("content", "x").strip():
            raise ValidationError("The content is empty.", "content")
        if (data.get("lon") is None) != (data.get("lat") is None):
            raise ValidationError("Give both lon and lat, or neither.", "lon")
        if not (data.get("address", "").strip() or data.get("lon") is not None
                or data.get("premises_id") is not None):
            raise ValidationError("Say where: an address, a location or a premises.", "address")
        if "anonymous" not in data:
            return
        if data["anonymous"] and data.get("complainant"):
            raise ValidationError("An anonymous complaint carries no complainant.",
                                  "complainant")
        if not data["anonymous"] and not data.get("complainant"):
            raise ValidationError("A real-name complaint needs the complainant's name and phone.",
                                  "complainant")


class ComplaintQuery(PageArgs):
    status = Text(validate=validate.OneOf(COMPLAINT_STATUSES))
    feedback_overdue = fields.Bool(load_default=False)
    awaiting_premises = fields.Bool(load_default=False)


class ComplaintRoute(Schema):
    premises_id = Id(allow_none=True)
    cell_id = Id(allow_none=True)

    @validates_schema
    def check_one_target(self, data, **kwargs):
        if (data.get("premises_id") is None) == (data.get("cell_id") is None):
            raise ValidationError("Give a premises_id or a cell_id, not both.", "premises_id")


class ComplaintVerify(Schema):
    outcome = Text(required=True, validate=validate.OneOf(VERIFICATION_OUTCOMES))
    result = Text(required=True, validate=validate.Length(min=1, max=MAX_CONTENT))

    @validates_schema
    def check_result(self, data, **kwargs):
        if not data.get("result", "x").strip():
            raise ValidationError("The result is empty.", "result")


class ComplaintFeedback(Schema):
    text = Text(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def check_text(self, data, **kwargs):
        if not data.get("text", "x").strip():
            raise ValidationError("The feedback is empty.", "text")


class ComplaintCategorySchema(Schema):
    code = fields.Str()
    label_zh = fields.Str()
    label_en = fields.Str()
