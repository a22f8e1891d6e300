"""Schemas of the cells API: cells, point lookup, subdivision."""

from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, validate
from shapely.geometry import mapping

from server.models.grid import LEVELS, map_level_labels
from server.schemas.common import Id, PageArgs, Text, labels_of


class CellSchema(Schema):
    id = fields.Int()
    map_id = Id()
    parent_id = fields.Int(allow_none=True)
    level = Text()
    # As the cell's map names its levels (one query per map: the map is loaded once).
    level_label = fields.Function(lambda c: labels_of(map_level_labels(c.map), c.level))
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


class SubdivideRequest(Schema):
    parts = fields.Int(required=True, validate=validate.Range(min=1, max=999))
    names = fields.List(Text(validate=validate.Length(min=1, max=128)))
