"""Schemas of the maps API: map versions, boundary-file options, validation reports."""

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from grid_maps import LevelsError, normalise_levels
from server.models.grid import LEVELS, MAP_STATUS_LABELS
from server.schemas.common import Id, Text, labels_of


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
    levels = fields.List(fields.Dict(), dump_only=True)


class MapCreate(Schema):
    jurisdiction_code = Text(required=True, validate=validate.Regexp(r"^[0-9A-Za-z_-]{1,32}$"))
    name = Text(required=True, validate=validate.Length(min=1, max=128))
    # Top first, from province, city, district, street, community; default the last three.
    levels = fields.List(fields.Raw(), validate=validate.Length(min=1, max=5),
                         metadata={"description": 'Level codes top first, or {"code", "zh", '
                                                  '"en"} to rename one (e.g. 旗 / Banner).'})

    @validates("levels")
    def _levels_usable(self, value, **kwargs):
        try:
            normalise_levels(value)
        except LevelsError as error:
            raise ValidationError(error.message) from error


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
    # A root cell above this level (the map's first import only); its geometry is the union.
    root_code = Text(validate=validate.Length(min=1, max=64))
    root_name = Text(validate=validate.Length(min=1, max=128))
    root_level = Text(validate=validate.OneOf(LEVELS))

    @validates_schema
    def _root_whole(self, data, **kwargs):
        given = [key for key in ("root_code", "root_name", "root_level") if key in data]
        if given and len(given) != 3:
            raise ValidationError("Give root_code, root_name and root_level together.",
                                  field_name="root_code")


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
