"""Photos (现场照片): content-addressed upload by SHA-256, and scoped reads."""

from flask import Response, current_app, request
from flask_smorest import Blueprint

from server.auth import current_user
from server.db import transaction
from server.errors import NotFound
from server.extensions import db
from server.photos import FilesystemPhotoStore
from server.schemas.inspections import PhotoSchema
from server.services.evidence import EvidenceLimits
from server.services.photos import get_photo, upload_photo

blp = Blueprint("photos", __name__, description="Photos, addressed by the SHA-256 of their bytes")

PHOTO_BODY = {"required": True, "description": "The photo's bytes (JPEG, PNG or WebP).",
              "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                          "application/octet-stream": {"schema": {"type": "string",
                                                                  "format": "binary"}}}}


def photo_store():
    """Return the configured photo store (the filesystem; S3-compatible stores fit the same API)."""
    return FilesystemPhotoStore(current_app.config["PHOTO_DIR"])


@blp.put("/<string(length=64):sha256>")
@blp.doc(requestBody=PHOTO_BODY)
@blp.response(201, PhotoSchema)
@blp.alt_response(200, schema=PhotoSchema, description="Those bytes were already stored")
def put_photo(sha256):
    """Upload a photo; the server checks the bytes against the hash. 201 stored, 200 already there."""
    actor = current_user()
    config = current_app.config
    data = request.get_data(cache=False)
    with transaction():
        photo, created = upload_photo(db.session, photo_store(), actor, sha256, data,
                                      max_bytes=config["PHOTO_MAX_BYTES"],
                                      max_pixels=config["PHOTO_MAX_PIXELS"],
                                      limits=EvidenceLimits.from_config(config))
    return photo, 201 if created else 200


@blp.get("/<string(length=64):sha256>")
@blp.response(200, PhotoSchema)
def photo_facts(sha256):
    """Return what the server knows of a photo you may see."""
    return get_photo(db.session, current_user(), sha256)


@blp.get("/<string(length=64):sha256>/<any(original, thumb, public):kind>")
@blp.response(200, description="The image bytes (JPEG for thumb and public)")
def photo_bytes(sha256, kind):
    """Return the original, the thumbnail or the public copy (no EXIF GPS) of a photo."""
    photo = get_photo(db.session, current_user(), sha256)
    store = photo_store()
    try:
        stream = store.open(sha256) if kind == "original" else store.open_derivative(sha256, kind)
    except FileNotFoundError as error:
        current_app.logger.error("Photo %s is recorded but its %s file is missing", sha256, kind)
        raise NotFound("The photo is recorded but its file is missing from the store.",
                       code="photo_file_missing") from error
    with stream:
        data = stream.read()
    mime = photo.mime if kind == "original" else "image/jpeg"
    return Response(data, mimetype=mime, headers={"Cache-Control": "private, max-age=86400"})
