"""Photos (现场照片): content-addressed upload by SHA-256, and scoped reads."""

from flask import Response, current_app, request
from flask_smorest import Blueprint
from werkzeug.exceptions import ClientDisconnected

from server.authentication import current_device, current_user
from server.db import transaction
from server.errors import BadUploadOffset, IncompleteBody, PhotoFileMissing, PhotoUnrenderable
from server.extensions import db
from server.photos import ImageRejected, open_derivative
from server.schemas.photos import PhotoSchema, UploadState
from server.services.evidence import EvidenceLimits
from server.services.photos import append_chunk, get_photo, upload_photo, upload_state

blp = Blueprint("photos", __name__, description="Photos, addressed by the SHA-256 of their bytes")

PHOTO_BODY = {"required": True, "description": "The photo's bytes (JPEG, PNG or WebP).",
              "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                          "application/octet-stream": {"schema": {"type": "string",
                                                                  "format": "binary"}}}}


def photo_store():
    """Return the app's photo store, built once in create_app from PHOTO_STORE."""
    return current_app.extensions["photo_store"]


def photo_upload_limits():
    """Return the size limits and evidence limits an upload is checked against."""
    limits = current_app.extensions["photo_limits"]
    return {"max_bytes": limits.max_bytes, "max_pixels": limits.max_pixels,
            "limits": EvidenceLimits.from_config(current_app.config)}


def whole_body():
    """Return the request body; one that ended before its Content-Length is refused.

    A client that hung up (or a proxy that cut the request) leaves a short body: stored or
    appended it would be a damaged photo, and its hash mismatch would throw away the bytes
    of a resumable upload already held. Werkzeug raises ClientDisconnected when it reads the
    socket itself; behind gunicorn (wsgi.input_terminated) the body just comes up short.
    """
    expected = request.content_length
    try:
        data = request.get_data(cache=False)
    except ClientDisconnected as error:
        raise IncompleteBody("The request body ended before its Content-Length; send it again.",
                             details={"content_length": expected}) from error
    if expected is not None and len(data) != expected:
        raise IncompleteBody("The request body ended before its Content-Length; send it again.",
                             details={"content_length": expected, "received": len(data)})
    return data


@blp.put("/<string(length=64):sha256>")
@blp.doc(requestBody=PHOTO_BODY)
@blp.response(201, PhotoSchema)
@blp.alt_response(200, schema=PhotoSchema, description="Those bytes were already stored")
def put_photo(sha256):
    """Upload a photo; the server checks the bytes against the hash. 201 stored, 200 already there."""
    actor = current_user()
    data = whole_body()
    device = current_device()
    with transaction():
        photo, created = upload_photo(db.session, photo_store(), actor, sha256, data,
                                      device_id=device.device_uid if device else None,
                                      **photo_upload_limits())
    return photo, 201 if created else 200


@blp.get("/<string(length=64):sha256>/upload")
@blp.response(200, UploadState)
@blp.alt_response(404, description="no_upload: you have neither started nor sent this photo; "
                                   "start at offset 0")
def upload_progress(sha256):
    """Say how many bytes of your resumable upload the server holds (or that you sent it all).

    404 no_upload when you have neither started this photo nor sent it whole before.
    """
    return upload_state(db.session, photo_store(), current_user(), sha256)


@blp.patch("/<string(length=64):sha256>/upload")
@blp.doc(requestBody=PHOTO_BODY, parameters=[
    {"in": "header", "name": "Upload-Offset", "required": True, "schema": {"type": "integer"},
     "description": "Where this chunk starts: the offset the server reported"},
    {"in": "header", "name": "Upload-Complete", "schema": {"type": "string", "enum": ["?0", "?1"]},
     "description": "?1 on the last chunk: the server then checks the hash and stores the photo"}])
@blp.response(200, UploadState)
@blp.alt_response(409, description="offset_mismatch: continue from details.offset")
@blp.alt_response(400, description="incomplete_body: the chunk was cut short of its "
                                   "Content-Length; nothing of it was kept")
def upload_chunk(sha256):
    """Append a chunk to a resumable upload; the last one (Upload-Complete: ?1) stores the photo."""
    actor = current_user()
    offset = request.headers.get("Upload-Offset", "")
    if not offset.isdigit() or len(offset) > 12:
        raise BadUploadOffset("Send the Upload-Offset header: where this chunk starts.")
    complete = request.headers.get("Upload-Complete") == "?1"
    chunk = whole_body()  # a cut chunk is refused: the bytes held so far stay as they were
    device = current_device()
    with transaction():
        state, _, _ = append_chunk(
            db.session, photo_store(), actor, sha256, int(offset), chunk, complete=complete,
            device_id=device.device_uid if device else None, **photo_upload_limits())
    return state


@blp.get("/<string(length=64):sha256>")
@blp.response(200, PhotoSchema)
def photo_facts(sha256):
    """Return what the server knows of a photo you may see."""
    return get_photo(db.session, current_user(), sha256)


@blp.get("/<string(length=64):sha256>/<any(original, thumb, public):kind>")
@blp.response(200, description="The image bytes (JPEG for thumb and public)")
def photo_bytes(sha256, kind):
    """Return the original, the thumbnail or the public copy (no EXIF GPS) of a photo."""
    with transaction():  # ended before the image work below (SQLite: it holds the write lock)
        photo = get_photo(db.session, current_user(), sha256)
    store = photo_store()
    try:
        if kind == "original":
            stream = store.open(sha256)
        else:  # made from the original on first use
            stream = open_derivative(store, sha256, kind,
                                     max_pixels=current_app.extensions["photo_limits"].max_pixels)
    except FileNotFoundError as error:
        current_app.logger.error("Photo %s is recorded but its %s file is missing", sha256, kind)
        raise PhotoFileMissing("The photo is recorded but its file is missing from the "
                               "store.") from error
    except ImageRejected as error:  # stored under older, looser limits
        raise PhotoUnrenderable(f"No {kind} copy can be made of this photo: "
                                f"{error.message}") from error
    with stream:
        data = stream.read()
    mime = photo.mime if kind == "original" else "image/jpeg"
    return Response(data, mimetype=mime, headers={"Cache-Control": "private, max-age=86400"})
