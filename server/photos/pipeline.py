"""Take in one uploaded photo: check size, hash and image, then store it once.

The thumbnail and the public copy are made from the original the first time someone asks
for them, not on upload: a terminal's upload costs one check and one write, and a photo
nobody looks at never pays for two JPEG encodes.
"""

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
class PhotoLimits:
    """The largest photo accepted: bytes, and pixels (beyond them a decompression bomb)."""

    max_bytes: int
    max_pixels: int

    @classmethod
    def from_config(cls, config):
        """Read PHOTO_MAX_BYTES and PHOTO_MAX_PIXELS."""
        return cls(max_bytes=int(config["PHOTO_MAX_BYTES"]),
                   max_pixels=int(config["PHOTO_MAX_PIXELS"]))


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


def ingest_photo(store, claimed_sha256, data, *, max_bytes, max_pixels):
    """Check an uploaded photo (size, hash, a complete accepted image) and store it, once."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(limit=max_bytes, size=len(data))
    sha256 = sha256_hex(data)
    if sha256 != claimed_sha256:
        raise HashMismatch(expected=claimed_sha256, actual=sha256)
    if store.exists(sha256):
        # Equal hash, equal bytes: they passed the full check when first stored.
        info = inspect_image(data, max_pixels=max_pixels, decode=False)
        return StoredPhoto(sha256=sha256, size=len(data), info=info, created=False)
    info = inspect_image(data, max_pixels=max_pixels)
    created = store.put(sha256, data)
    return StoredPhoto(sha256=sha256, size=len(data), info=info, created=created)


def open_derivative(store, sha256, kind, *, max_pixels, thumbnail_size=THUMBNAIL_SIZE,
                    public_max_side=PUBLIC_MAX_SIDE):
    """Open the thumbnail or public copy of a stored photo, making both from the original
    the first time. FileNotFoundError when the original is not in the store."""
    try:
        return store.open_derivative(sha256, kind)
    except FileNotFoundError:
        pass
    with store.open(sha256) as handle:
        data = handle.read()
    processed = process_image(data, max_pixels=max_pixels, thumbnail_size=thumbnail_size,
                              public_max_side=public_max_side)
    _store_derivatives(store, sha256, processed)
    return store.open_derivative(sha256, kind)
