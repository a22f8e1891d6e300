"""Field photos: checking, EXIF evidence, derivatives and content-addressed storage."""

from .imaging import (
    ALLOWED_FORMATS,
    DEFAULT_MAX_PIXELS,
    ImageInfo,
    ImageRejected,
    ProcessedImage,
    inspect_image,
    make_public_copy,
    make_thumbnail,
    process_image,
)
from .pipeline import PhotoLimits, PhotoTooLarge, StoredPhoto, ingest_photo, open_derivative
from .store import (
    DERIVATIVE_KINDS,
    FilesystemPhotoStore,
    HashMismatch,
    OffsetMismatch,
    PhotoStore,
    check_sha256,
    make_photo_store,
    sha256_hex,
)

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "DERIVATIVE_KINDS",
    "FilesystemPhotoStore",
    "HashMismatch",
    "ImageInfo",
    "ImageRejected",
    "OffsetMismatch",
    "PhotoLimits",
    "PhotoStore",
    "PhotoTooLarge",
    "ProcessedImage",
    "StoredPhoto",
    "check_sha256",
    "ingest_photo",
    "inspect_image",
    "make_photo_store",
    "make_public_copy",
    "make_thumbnail",
    "open_derivative",
    "process_image",
    "sha256_hex",
]
