"""Photo uploads (content-addressed) and who may read them."""

import re

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from server.errors import AppError, NotFound
from server.models import GridCell, Inspection, InspectionPhoto, Photo, Premises
from server.photos import HashMismatch, ImageRejected, OffsetMismatch, PhotoTooLarge, ingest_photo
from server.services import audit
from server.services import changes as feed
from server.services.scope import cell_scope_clause

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_hash_name(sha256):
    """Refuse anything but 64 lowercase hex digits."""
    if not SHA256.match(sha256 or ""):
        raise AppError("The photo is addressed by the SHA-256 of its bytes: 64 lowercase hex "
                       "digits.", code="bad_hash", status=422)


def upload_photo(session, store, actor, sha256, data, *, max_bytes, max_pixels, limits,
                 device_id=None):
    """Verify and store a photo; return (photo, created). The same bytes again are a no-op."""
    check_hash_name(sha256)
    if not data:
        raise AppError("The request body is empty; send the photo's bytes.", code="empty_body",
                       status=422)
    try:
        stored = ingest_photo(store, sha256, data, max_bytes=max_bytes, max_pixels=max_pixels)
    except PhotoTooLarge as error:
        raise AppError(f"The photo is larger than {max_bytes} bytes.", code="photo_too_large",
                       status=413, details={"limit": max_bytes}) from error
    except HashMismatch as error:
        raise AppError("The bytes do not match the SHA-256 in the URL.", code="hash_mismatch",
                       status=422, details={"expected": error.expected,
                                            "actual": error.actual}) from error
    except ImageRejected as error:
        raise AppError(error.message, code=error.code, status=422) from error
    info = stored.info
    lock_photos(session, [sha256])
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # One statement: a photo recorded before (or a moment ago on another connection) is kept.
    photo = session.scalar(insert(Photo).values(
        sha256=sha256, size=stored.size, mime=info.mime, width=info.width, height=info.height,
        exif_status=info.exif_status, taken_at=info.taken_at.isoformat() if info.taken_at else None,
        gps_lon=info.gps_lon, gps_lat=info.gps_lat, uploaded_by_id=actor.id,
    ).on_conflict_do_nothing().returning(Photo))
    if photo is None:
        return session.get(Photo, sha256), False
    _refresh_linked(session, sha256, limits)
    audit.record(session, actor, "photo.upload", "photo", sha256, device_id=device_id,
                 details={"size": stored.size, "exif_status": info.exif_status})
    return photo, True


def lock_photos(session, hashes):
    """Serialise, until commit, with the other transactions about these photos.

    A record naming a photo and the upload of that photo may run at the same moment: without
    this, each reads before the other commits, the record keeps "photo missing" and its
    terminal is never told otherwise. PostgreSQL advisory locks, taken in one order;
    SQLite runs one writing transaction at a time anyway.
    """
    if not hashes or session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({int(sha256[:15], 16) for sha256 in hashes})  # 60 bits: a bigint
    session.execute(select(*[func.pg_advisory_xact_lock(key) for key in keys]))


def _refresh_linked(session, sha256, limits):
    """Recompute the evidence of the inspections naming this photo, and tell their senders."""
    from geoalchemy2.shape import to_shape

    from server.services.inspections import set_evidence

    # Locked: two photos of one inspection arriving together each see the other's.
    inspections = session.scalars(
        select(Inspection).join(InspectionPhoto, InspectionPhoto.inspection_id == Inspection.id)
        .where(InspectionPhoto.sha256 == sha256)
        .options(joinedload(Inspection.premises)).order_by(Inspection.id)
        .with_for_update(of=Inspection).execution_options(populate_existing=True)).unique().all()
    if not inspections:
        return
    held = {}  # inspection id -> the photos of it the server holds, this one included
    for inspection_id, photo in session.execute(
            select(InspectionPhoto.inspection_id, Photo)
            .join(Photo, Photo.sha256 == InspectionPhoto.sha256)
            .where(InspectionPhoto.inspection_id.in_([i.id for i in inspections]))):
        held.setdefault(inspection_id, {})[photo.sha256] = photo
    for inspection in inspections:
        set_evidence(inspection, to_shape(inspection.premises.location),
                     list(held.get(inspection.id, {}).values()), limits)
        # The terminal that sent the record learns on its next pull that it is complete.
        feed.emit(session, "inspection_status", inspection.id,
                  user_id=inspection.submitted_by_id)


def get_photo(session, actor, sha256):
    """Return a photo the actor may see: their own upload, or one of an inspection in scope."""
    check_hash_name(sha256)
    photo = session.get(Photo, sha256)
    if photo is None:
        raise NotFound("Photo not found.")
    if actor.is_admin or photo.uploaded_by_id == actor.id:
        return photo
    linked = session.scalar(
        select(Inspection.id).join(InspectionPhoto, InspectionPhoto.inspection_id == Inspection.id)
        .join(Premises, Premises.id == Inspection.premises_id)
        .join(GridCell, GridCell.id == Premises.cell_id)
        .where(InspectionPhoto.sha256 == sha256, cell_scope_clause(actor)).limit(1))
    if linked is None:
        raise NotFound("Photo not found.")
    return photo


def upload_state(session, store, sha256):
    """Return how far an upload has come: {"offset": bytes held, "stored": complete}."""
    check_hash_name(sha256)
    photo = session.get(Photo, sha256)
    if photo is not None:
        return {"offset": photo.size, "stored": True}
    return {"offset": store.partial_size(sha256), "stored": False}


def append_chunk(session, store, actor, sha256, offset, chunk, *, complete, max_bytes,
                 max_pixels, limits, device_id=None):
    """Add a chunk to a resumable upload; on the last one verify the hash and store the photo.

    Returns (state, photo, created): photo is None until the upload is complete.
    """
    check_hash_name(sha256)
    if session.get(Photo, sha256) is not None:
        photo = session.get(Photo, sha256)
        return {"offset": photo.size, "stored": True}, photo, False
    if offset + len(chunk) > max_bytes:
        raise AppError(f"The photo is larger than {max_bytes} bytes.", code="photo_too_large",
                       status=413, details={"limit": max_bytes})
    if complete and offset == 0 and chunk and store.partial_size(sha256) == 0:
        # The whole photo in one request (the usual case for a small one): no partial file.
        photo, created = upload_photo(session, store, actor, sha256, chunk, max_bytes=max_bytes,
                                      max_pixels=max_pixels, limits=limits, device_id=device_id)
        return {"offset": photo.size, "stored": True}, photo, created
    try:
        size = store.append_partial(sha256, offset, chunk) if chunk else store.partial_size(sha256)
    except OffsetMismatch as error:
        raise AppError(f"The server holds {error.expected} bytes of this photo; continue from "
                       "there.", code="offset_mismatch", status=409,
                       details={"offset": error.expected}) from error
    if not complete:
        return {"offset": size, "stored": False}, None, False
    try:
        data = store.finish_partial(sha256)
    except HashMismatch as error:
        raise AppError("The uploaded bytes do not match the SHA-256 in the URL; the partial "
                       "upload was discarded, start again.", code="hash_mismatch", status=422,
                       details={"expected": error.expected, "actual": error.actual}) from error
    except FileNotFoundError as error:
        raise AppError("No upload of this photo is in progress.", code="no_upload",
                       status=409, details={"offset": 0}) from error
    photo, created = upload_photo(session, store, actor, sha256, data, max_bytes=max_bytes,
                                  max_pixels=max_pixels, limits=limits, device_id=device_id)
    store.discard_partial(sha256)
    return {"offset": photo.size, "stored": True}, photo, created
