"""Taking in an uploaded photo: limits, hash check, image check, storage."""

import io
from pathlib import Path

import pytest
from PIL import Image

from server.photos.imaging import ImageRejected
from server.photos.pipeline import PhotoTooLarge, ingest_photo, open_derivative
from server.photos.store import FilesystemPhotoStore, HashMismatch, sha256_hex

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"
LIMITS = {"max_bytes": 1_000_000, "max_pixels": 1_000_000}
HOPPER = (PHOTOS / "hopper.jpg").read_bytes()


@pytest.fixture
def store(tmp_path):
    return FilesystemPhotoStore(tmp_path / "photos")


def stored_files(store):
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


def ingest(store, data, **limits):
    return ingest_photo(store, sha256_hex(data), data, **{**LIMITS, **limits})


def test_new_photo_is_stored_as_it_came_and_nothing_else_yet(store):
    photo = ingest(store, HOPPER)
    assert (photo.sha256, photo.size, photo.created) == (sha256_hex(HOPPER), len(HOPPER), True)
    assert photo.info.format == "JPEG"
    with store.open(photo.sha256) as handle:
        assert handle.read() == HOPPER
    assert stored_files(store) == [store.original_path(photo.sha256)]


def test_the_derivatives_are_made_on_first_use_then_kept(store):
    photo = ingest(store, HOPPER)
    for kind in ("thumb", "public"):
        with open_derivative(store, photo.sha256, kind, max_pixels=1_000_000) as handle:
            assert Image.open(io.BytesIO(handle.read())).format == "JPEG"
    made = {kind: store.derivative_path(photo.sha256, kind).stat().st_mtime_ns
            for kind in ("thumb", "public")}
    with open_derivative(store, photo.sha256, "thumb", max_pixels=1_000_000) as handle:
        with Image.open(handle) as thumb:
            assert max(thumb.size) <= 320
    assert {kind: store.derivative_path(photo.sha256, kind).stat().st_mtime_ns
            for kind in ("thumb", "public")} == made  # made once, not on every read


def test_a_lost_derivative_is_made_again(store):
    photo = ingest(store, HOPPER)
    open_derivative(store, photo.sha256, "public", max_pixels=1_000_000).close()
    store.derivative_path(photo.sha256, "thumb").unlink()
    open_derivative(store, photo.sha256, "thumb", max_pixels=1_000_000).close()
    assert store.has_derivative(photo.sha256, "thumb")


def test_no_derivative_without_the_original(store):
    with pytest.raises(FileNotFoundError):
        open_derivative(store, sha256_hex(b"never uploaded"), "thumb", max_pixels=1_000_000)
    assert stored_files(store) == []


def test_same_bytes_twice_are_created_then_found(store):
    first = ingest(store, HOPPER)
    inode = store.original_path(first.sha256).stat().st_ino
    second = ingest(store, HOPPER)
    assert (first.created, second.created) == (True, False)
    assert second.info == first.info
    assert store.original_path(first.sha256).stat().st_ino == inode


def test_hash_mismatch_stores_nothing(store):
    claimed = sha256_hex(b"something else")
    with pytest.raises(HashMismatch) as caught:
        ingest_photo(store, claimed, HOPPER, **LIMITS)
    assert (caught.value.expected, caught.value.actual) == (claimed, sha256_hex(HOPPER))
    assert stored_files(store) == []


def test_hash_is_checked_before_the_image(store):
    with pytest.raises(HashMismatch):
        ingest_photo(store, sha256_hex(HOPPER), b"not an image", **LIMITS)


def test_too_large_stores_nothing(store):
    with pytest.raises(PhotoTooLarge) as caught:
        ingest(store, HOPPER, max_bytes=len(HOPPER) - 1)
    assert caught.value.limit == len(HOPPER) - 1
    assert stored_files(store) == []


def test_size_is_checked_before_the_hash(store):
    with pytest.raises(PhotoTooLarge):
        ingest_photo(store, "0" * 64, HOPPER, max_bytes=10, max_pixels=1_000_000)


@pytest.mark.parametrize("name, code", [
    ("truncated_jpeg.jpg", "truncated_image"),
    ("decompression_bomb.gif", "decompression_bomb"),
])
def test_rejected_sample_stores_nothing(store, name, code):
    with pytest.raises(ImageRejected) as caught:
        ingest(store, (PHOTOS / name).read_bytes())
    assert caught.value.code == code
    assert stored_files(store) == []


def test_non_image_stores_nothing(store):
    with pytest.raises(ImageRejected) as caught:
        ingest(store, b"GET /etc/passwd HTTP/1.1\r\n")
    assert caught.value.code == "not_an_image"
    assert stored_files(store) == []


def test_pixel_limit_applies(store):
    with pytest.raises(ImageRejected) as caught:
        ingest(store, HOPPER, max_pixels=100)
    assert caught.value.code == "decompression_bomb"


@pytest.mark.parametrize("name, exif_status, orientation", [
    ("hopper.jpg", "absent", None),
    ("exif_gps.jpg", "ok", None),
    ("hopper_orientation_6.jpg", "ok", 6),
])
def test_accepted_samples_keep_their_exif_facts(store, name, exif_status, orientation):
    photo = ingest(store, (PHOTOS / name).read_bytes())
    assert (photo.info.exif_status, photo.info.orientation) == (exif_status, orientation)
