"""Photo uploads (content-addressed), who holds a photo, and who may read it.

Content-addressed dedupe grants no access: a user holds a photo once they have sent its bytes
(the hash of what they sent is the proof). A record counts a photo, and its scope may read it,
only when the record's sender holds it; citing a hash grants nothing.
"""

import re

from geoalchemy2.shape import to_shape
from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from server import errors
from server.models import (
    GridCell,
    Inspection,
    InspectionPhoto,
    OrderMove,
    OrderMovePhoto,
    Photo,
    PhotoHolder,
    Premises,
    RectificationOrder,
)
from server.models._types import utcnow
from server.photos import HashMismatch, ImageRejected, OffsetMismatch, PhotoTooLarge, ingest_photo
from server.services import audit
from server.services import changes as feed
from server.services.evidence import set_evidence
from server.services.scope import cell_scope_clause

SHA256 = re.compile(r"[0-9a-f]{64}")

# What Pillow's refusals (server/photos/imaging.py) answer, by their code.
IMAGE_REFUSALS = {error.code: error for error in (
    errors.NotAnImage, errors.TruncatedImage, errors.CorruptImage, errors.DecompressionBomb,
    errors.UnsupportedImageFormat)}


def check_hash_name(sha256):
    """Refuse anything but 64 lowercase hex digits."""
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):  # "$" admits a final "\n"
        raise errors.BadPhotoHash("The photo is addressed by the SHA-256 of its bytes: 64 "
                                  "lowercase hex digits.")


def upload_photo(session, store, actor, sha256, data, *, max_bytes, max_pixels, limits,
                 device_id=None):
    """Verify and store a photo, and record that the actor holds it; return (photo, created).

    Bytes already stored are checked all the same: hashing to the name is the proof that the
    sender has the photo. Then created is False and nothing is written again.
    """
    check_hash_name(sha256)
    if not data:
        raise errors.EmptyBody("The request body is empty; send the photo's bytes.")
    try:
        stored = ingest_photo(store, sha256, data, max_bytes=max_bytes, max_pixels=max_pixels)
    except PhotoTooLarge as error:
        raise errors.PhotoTooLarge(f"The photo is larger than {max_bytes} bytes.",
                                   details={"limit": max_bytes}) from error
    except HashMismatch as error:
        raise errors.PhotoHashMismatch("The bytes do not match the SHA-256 in the URL.", details={
            "expected": error.expected, "actual": error.actual}) from error
    except ImageRejected as error:
        refusal = IMAGE_REFUSALS.get(error.code)
        raise (refusal(error.message) if refusal else
               errors.ValidationFailed(error.message, code=error.code)) from error
    info = stored.info
    lock_photos(session, [sha256])
    insert = _insert_for(session)
    # One statement: a photo recorded before (or a moment ago on another connection) is kept.
    photo = session.scalar(insert(Photo).values(
        sha256=sha256, size=stored.size, mime=info.mime, width=info.width, height=info.height,
        exif_status=info.exif_status, taken_at=info.taken_at.isoformat() if info.taken_at else None,
        gps_lon=info.gps_lon, gps_lat=info.gps_lat, uploaded_by_id=actor.id,
    ).on_conflict_do_nothing().returning(Photo))
    created = photo is not None
    if not created:
        photo = session.get(Photo, sha256)
    newly_held = session.scalar(insert(PhotoHolder).values(
        sha256=sha256, user_id=actor.id, first_sent_at=utcnow(),
        device_id=device_id,
    ).on_conflict_do_nothing().returning(PhotoHolder.user_id)) is not None
    if not newly_held:
        return photo, created
    _refresh_linked(session, sha256, actor, limits)
    audit.record(session, actor, "photo.upload" if created else "photo.hold", "photo", sha256,
                 device_id=device_id,
                 details={"size": stored.size, "exif_status": info.exif_status})
    return photo, created


def _insert_for(session):
    dialect = session.get_bind().dialect.name
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


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


def held_photos(session, user_id, hashes):
    """Return the photos among hashes that are stored and held by the user."""
    if not hashes:
        return []
    return session.scalars(
        select(Photo).join(PhotoHolder, PhotoHolder.sha256 == Photo.sha256)
        .where(PhotoHolder.user_id == user_id, Photo.sha256.in_(sorted(set(hashes))))
        .order_by(Photo.sha256)).all()


def _refresh_linked(session, sha256, holder, limits):
    """Recompute the evidence of the holder's inspections naming this photo, and tell them."""
    # Locked: two photos of one inspection arriving together each see the other's.
    inspections = session.scalars(
        select(Inspection).join(InspectionPhoto, InspectionPhoto.inspection_id == Inspection.id)
        .where(InspectionPhoto.sha256 == sha256, Inspection.submitted_by_id == holder.id)
        .options(joinedload(Inspection.premises)).order_by(Inspection.id)
        .with_for_update(of=Inspection).execution_options(populate_existing=True)).unique().all()
    if not inspections:
        return
    held = {}  # inspection id -> the photos of it its sender holds, this one included
    for inspection_id, photo in session.execute(
            select(InspectionPhoto.inspection_id, Photo)
            .join(Photo, Photo.sha256 == InspectionPhoto.sha256)
            .join(PhotoHolder, and_(PhotoHolder.sha256 == Photo.sha256,
                                    PhotoHolder.user_id == holder.id))
            .where(InspectionPhoto.inspection_id.in_([i.id for i in inspections]))):
        held.setdefault(inspection_id, {})[photo.sha256] = photo
    for inspection in inspections:
        set_evidence(inspection, to_shape(inspection.premises.location),
                     list(held.get(inspection.id, {}).values()), limits)
        # The terminal that sent the record learns on its next pull that it is complete.
        feed.emit(session, "inspection_status", inspection.id,
                  user_id=inspection.submitted_by_id)


def get_photo(session, actor, sha256):
    """Return a photo the actor may see: one they hold, or one of a record in their scope
    (an inspection, or a move of an order) whose sender holds it. Anything else is not found."""
    check_hash_name(sha256)
    photo = session.get(Photo, sha256)
    if photo is None:
        raise errors.NotFound("Photo not found.")
    if actor.is_admin or session.get(PhotoHolder, (sha256, actor.id)) is not None:
        return photo
    linked = session.scalar(
        select(Inspection.id).join(InspectionPhoto, InspectionPhoto.inspection_id == Inspection.id)
        .join(PhotoHolder, and_(PhotoHolder.sha256 == InspectionPhoto.sha256,
                                PhotoHolder.user_id == Inspection.submitted_by_id))
        .join(Premises, Premises.id == Inspection.premises_id)
        .join(GridCell, GridCell.id == Premises.cell_id)
        .where(InspectionPhoto.sha256 == sha256, cell_scope_clause(actor)).limit(1))
    if linked is None:
        linked = session.scalar(
            select(OrderMove.id).join(OrderMovePhoto, OrderMovePhoto.move_id == OrderMove.id)
            .join(PhotoHolder, and_(PhotoHolder.sha256 == OrderMovePhoto.sha256,
                                    PhotoHolder.user_id == OrderMove.by_id))
            .join(RectificationOrder, RectificationOrder.id == OrderMove.order_id)
            .join(Premises, Premises.id == RectificationOrder.premises_id)
            .join(GridCell, GridCell.id == Premises.cell_id)
            .where(OrderMovePhoto.sha256 == sha256, cell_scope_clause(actor)).limit(1))
    if linked is None:
        raise errors.NotFound("Photo not found.")
    return photo


def upload_state(session, store, actor, sha256):
    """Return how far the actor's upload has come: {"offset": bytes held, "stored": complete}.

    Only the actor's own: a photo they do not hold and have not started is no_upload, even
    when someone else stored it (they then send the bytes, which makes them a holder).
    """
    check_hash_name(sha256)
    held = held_photos(session, actor.id, [sha256])
    if held:
        return {"offset": held[0].size, "stored": True}
    offset = store.partial_size(sha256, actor.id)
    if not offset:
        raise errors.NoUpload("You have no upload of this photo in progress: start at offset 0.",
                              details={"offset": 0})
    return {"offset": offset, "stored": False}


def append_chunk(session, store, actor, sha256, offset, chunk, *, complete, max_bytes,
                 max_pixels, limits, device_id=None):
    """Add a chunk to the actor's resumable upload; on the last one verify the hash and store.

    Returns (state, photo, created): photo is None until the upload is complete.
    """
    check_hash_name(sha256)
    if offset + len(chunk) > max_bytes:
        raise errors.PhotoTooLarge(f"The photo is larger than {max_bytes} bytes.",
                                   details={"limit": max_bytes})
    owner = actor.id
    upload = dict(max_bytes=max_bytes, max_pixels=max_pixels, limits=limits, device_id=device_id)
    if complete and offset == 0 and chunk and store.partial_size(sha256, owner) == 0:
        # The whole photo in one request (the usual case for a small one): no partial file.
        # Sent again after a cut answer, it is checked and answered as stored (200).
        photo, created = upload_photo(session, store, actor, sha256, chunk, **upload)
        return {"offset": photo.size, "stored": True}, photo, created
    held = held_photos(session, actor.id, [sha256])
    if held:
        return {"offset": held[0].size, "stored": True}, held[0], False
    try:
        size = store.append_partial(sha256, owner, offset, chunk) if chunk \
            else store.partial_size(sha256, owner)
    except OffsetMismatch as error:
        raise errors.UploadOffsetMismatch(
            f"The server holds {error.expected} bytes of this photo; continue from there.",
            details={"offset": error.expected}) from error
    if not complete:
        return {"offset": size, "stored": False}, None, False
    try:
        data = store.finish_partial(sha256, owner)
    except HashMismatch as error:
        raise errors.PhotoHashMismatch(
            "The uploaded bytes do not match the SHA-256 in the URL; the partial upload was "
            "discarded, start again.",
            details={"expected": error.expected, "actual": error.actual}) from error
    except FileNotFoundError as error:
        raise errors.NoUpload("You have no upload of this photo in progress: start at offset 0.",
                              details={"offset": 0}) from error
    try:
        photo, created = upload_photo(session, store, actor, sha256, data, **upload)
    except errors.AppError:
        store.discard_partial(sha256, owner)  # the bytes are as meant, and refused: for good
        raise
    store.discard_partial(sha256, owner)
    return {"offset": photo.size, "stored": True}, photo, created
