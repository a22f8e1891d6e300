"""Grid map, cell and assignment schemas."""

from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, validate
from shapely.geometry import mapping

from server.models.grid import LEVEL_LABELS, LEVELS, MAP_STATUS_LABELS
from server.schemas.common import Id, PageArgs, Text, labels_of


class MapSchema(Schema):
    id = fields.Int(dump_only=True)
    jurisdiction_code = Text()
    name = Text()
    version = fields.Int(dump_only=True)
    status = Text(dump_only=True)
    status_label = fields.Function(lambda m: labels_of(MAP_STATUS_LABELS, m.status), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    activated_at = fields.DateTime(dump_only=True, allow_none=True)
    retired_at = fields.DateTime(dump_only=True, allow_none=True)


class MapCreate(Schema):
    jurisdiction_code = Text(required=True, validate=validate.Regexp(r"^[0-9A-Za-z_-]{1,32}$"))
    name = Text(required=True, validate=validate.Length(min=1, max=128))


class CellSchema(Schema):
    id = fields.Int()
    map_id = Id()
    parent_id = fields.Int(allow_none=True)
    level = Text()
    level_label = fields.Function(lambda c: labels_of(LEVEL_LABELS, c.level))
    code = Text()
    name = Text()
    area_m2 = fields.Float()


class CellWithGeometry(CellSchema):
    geometry = fields.Function(lambda c: mapping(to_shape(c.geom)))


class CellQuery(PageArgs):
    map_id = Id()
    level = Text(validate=validate.OneOf(LEVELS))
    parent_id = Id()


class LookupQuery(Schema):
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    map_id = Id()


class LookupResult(Schema):
    cell = fields.Nested(CellSchema, allow_none=True)
    map_id = fields.Int(allow_none=True)


class FileOptions(Schema):
    """Options of a GeoJSON upload, given in the query string."""

    code_property = Text(load_default="code", validate=validate.Length(min=1, max=64))
    name_property = Text(load_default="name", validate=validate.Length(min=1, max=64))
    parent_property = Text(validate=validate.Length(min=1, max=64))
    link = Text(validate=validate.OneOf(["code", "containment"]))
    repair = fields.Bool(load_default=False)
    tolerance_m2 = fields.Float(validate=validate.Range(min=0, max=1e9))


class ImportOptions(FileOptions):
    level = Text(required=True, validate=validate.OneOf(LEVELS))


class SubdivideRequest(Schema):
    parts = fields.Int(required=True, validate=validate.Range(min=1, max=999))
    names = fields.List(Text(validate=validate.Length(min=1, max=128)))


class AssignmentSchema(Schema):
    id = fields.Int(dump_only=True)
    user_id = Id(required=True)
    cell_id = Id(required=True)
    cell_code = fields.Function(lambda a: a.cell.code, dump_only=True)
    duty = fields.List(Text(validate=validate.Length(min=1, max=64)), load_default=list)
    valid_from = fields.Date(load_default=None)
    valid_to = fields.Date(allow_none=True, load_default=None)


class AssignmentQuery(PageArgs):
    user_id = Id()
    cell_id = Id()
    include_ended = fields.Bool(load_default=False)


class ReportSchema(Schema):
    """A validation report: every problem with where it is."""

    ok = fields.Bool()
    cell_count = fields.Int()
    errors = fields.List(fields.Dict())
    warnings = fields.List(fields.Dict())
    repairs = fields.List(fields.Dict())


class ActivationResult(Schema):
    map_id = Id()
    retired = fields.List(fields.Int())
    assignments_moved = fields.Int()
    assignments_unmatched = fields.List(fields.Dict())
    premises_moved = fields.Int()
    premises_orphaned = fields.Int()
    report = fields.Nested(ReportSchema)
