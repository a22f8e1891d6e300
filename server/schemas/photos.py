"""Schemas of the photos API: photo facts and resumable upload state."""

from marshmallow import Schema, fields


class PhotoSchema(Schema):
    sha256 = fields.Str()
    size = fields.Int()
    mime = fields.Str()
    width = fields.Int()
    height = fields.Int()
    exif_status = fields.Str()
    taken_at = fields.Str(allow_none=True)
    gps_lon = fields.Float(allow_none=True)
    gps_lat = fields.Float(allow_none=True)
    uploaded_at = fields.DateTime()


class UploadState(Schema):
    offset = fields.Int()
    stored = fields.Bool()
