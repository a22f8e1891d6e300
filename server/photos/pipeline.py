"""Take in one uploaded photo: check size, hash and image, then store it with its derivatives."""

from dataclasses import dataclass

from .imaging import PUBLIC_MAX_SIDE, THUMBNAIL_SIZE, ImageInfo, inspect_image, process_image
from .store import HashMismatch, sha256_hex


class PhotoTooLarge(ValueError):
    """An upload over the size limit."""

    def __init__(self, limit, size=None):
        super().__init__(f"the photo is {size} bytes, over the limit of {limit} bytes")
        self.limit = limit
        self.size = size


@dataclass(frozen=True)
class StoredPhoto:
    """A photo held by the store; created is False when the same bytes were already there."""

    sha256: str
    size: int
    info: ImageInfo
    created: bool


def _store_derivatives(store, sha256, processed):
    """Write the thumbnail and the public copy."""
    store.put_derivative(sha256, "thumb", processed.thumbnail)
    store.put_derivative(sha256, "public", processed.public_copy)


def ingest_photo(
    store,
    claimed_sha256,
    data,
    *,
    max_bytes,
    max_pixels,
    thumbnail_size=THUMBNAIL_SIZE,
    public_max_side=PUBLIC_MAX_SIDE,
):
    """Check an uploaded photo and store it with its thumbnail and public copy, once."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(limit=max_bytes, size=len(data))
    sha256 = sha256_hex(data)
    if sha256 != claimed_sha256:
        raise HashMismatch(expected=claimed_sha256, actual=sha256)
    sizes = {"thumbnail_size": thumbnail_size, "public_max_side": public_max_side}
    if store.exists(sha256):
        # Equal hash, equal bytes: they passed the full check when first stored.
        info = inspect_image(data, max_pixels=max_pixels, decode=False)
        if not (store.has_derivative(sha256, "thumb") and store.has_derivative(sha256, "public")):
            _store_derivatives(store, sha256, process_image(data, max_pixels=max_pixels, **sizes))
        return StoredPhoto(sha256=sha256, size=len(data), info=info, created=False)
    processed = process_image(data, max_pixels=max_pixels, **sizes)
    # Derivatives first: once the original exists, everything derived from it exists too,
    # so a crash in between leaves a photo that is simply not stored yet.
    _store_derivatives(store, sha256, processed)
    created = store.put(sha256, data)
    return StoredPhoto(sha256=sha256, size=len(data), info=processed.info, created=created)
