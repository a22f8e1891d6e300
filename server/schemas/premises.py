"""Premises and category schemas. Coordinates are WGS84 (EPSG:4326) lon/lat."""

from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, validate

from server.models.premises import CREDIT_GRADES, LIST_STATUSES, OWNERSHIPS, RISK_LEVELS
from server.schemas.common import Id, PageArgs, Text, labels_of


class CategorySchema(Schema):
    code = fields.Str()
    label_zh = fields.Str()
    label_en = fields.Str()


class PremisesSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    category_code = fields.Str()
    category_label = fields.Function(lambda p: {"zh": p.category.label_zh, "en": p.category.label_en})
    ownership = fields.Str()
    ownership_label = fields.Function(lambda p: labels_of(OWNERSHIPS, p.ownership))
    licence_no = fields.Str(allow_none=True)
    credit_code = fields.Str(allow_none=True)
    address = fields.Str()
    lon = fields.Function(lambda p: to_shape(p.location).x)
    lat = fields.Function(lambda p: to_shape(p.location).y)
    cell_id = fields.Int(allow_none=True)
    risk_level = fields.Str()
    risk_label = fields.Function(lambda p: labels_of(RISK_LEVELS, p.risk_level))
    credit_grade = fields.Str(allow_none=True)
    list_status = fields.Str()
    list_status_label = fields.Function(lambda p: labels_of(LIST_STATUSES, p.list_status))
    contact_name = fields.Str(allow_none=True)
    contact_phone = fields.Str(allow_none=True)
    active = fields.Bool()
    version = fields.Int()
    updated_at = fields.DateTime()


class PremisesCreate(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    category_code = Text(required=True, validate=validate.Length(min=1, max=32))
    ownership = Text(required=True, validate=validate.OneOf(OWNERSHIPS))
    licence_no = Text(validate=validate.Length(min=1, max=64), allow_none=True)
    credit_code = Text(validate=validate.Regexp(r"^[0-9A-HJ-NPQRTUWXY]{18}$"), allow_none=True)
    address = Text(required=True, validate=validate.Length(min=1, max=200))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    risk_level = Text(load_default="medium", validate=validate.OneOf(RISK_LEVELS))
    credit_grade = Text(validate=validate.OneOf(CREDIT_GRADES), allow_none=True)
    list_status = Text(load_default="none", validate=validate.OneOf(LIST_STATUSES))
    contact_name = Text(validate=validate.Length(max=64), allow_none=True)
    contact_phone = Text(validate=validate.Length(max=32), allow_none=True)


class PremisesUpdate(PremisesCreate):
    """Changes to a premises, made against the version the client last saw."""

    base_version = fields.Int(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    active = fields.Bool()


class PremisesQuery(PageArgs):
    cell_id = Id()
    category_code = Text(validate=validate.Length(max=32))
    list_status = Text(validate=validate.OneOf(LIST_STATUSES))


class ImportQuery(Schema):
    coordinates = Text(load_default="wgs84", validate=validate.OneOf(["wgs84", "gcj02"]))
    partial = fields.Bool(load_default=False)


class ImportResult(Schema):
    encoding = fields.Str()
    created = fields.Int()
    updated = fields.Int()
    unchanged = fields.Int()
    orphans = fields.Int()
    errors = fields.List(fields.Dict())


# Every field but base_version may be left out of an update.
UPDATE_OPTIONAL = tuple(name for name in PremisesUpdate._declared_fields if name != "base_version")
