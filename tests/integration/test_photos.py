"""Photos over the HTTP API: content-addressed uploads checked byte for byte and by Pillow,
derivatives without EXIF, and reads limited to the uploader and the inspections' scope.

Every refusal is checked to leave no Photo row and no file in the store.
"""

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps
from sqlalchemy import func, select

from server.models import AuditEvent, Photo
from server.photos import FilesystemPhotoStore
from tests.conftest import PHOTOS
from tests.factories import auth_headers, inspection_data, jpeg_bytes


@pytest.fixture
def headers(db_session, world):
    """Bearer headers of the shared world's staff, issued before any snapshot is taken.

    wang coordinates the clinic's cell, zhao a cell elsewhere; chief supervises the clinic's
    district, other_chief the other one.
    """
    return {name: auth_headers(db_session, getattr(world, name))
            for name in ("wang", "zhao", "chief", "other_chief")}


def sha(data):
    return hashlib.sha256(data).hexdigest()


def put(client, headers, data, sha256=None):
    return client.put(f"/api/v1/photos/{sha256 or sha(data)}", data=data, headers=headers,
                      content_type="image/jpeg")


def stored(db_session, app):
    """Photo rows, audit events, and every file in the photo store."""
    db_session.expire_all()
    return {"photos": sorted(db_session.scalars(select(Photo.sha256))),
            "events": db_session.scalar(select(func.count()).select_from(AuditEvent)),
            "files": sorted(str(p) for p in Path(app.config["PHOTO_DIR"]).rglob("*")
                            if p.is_file())}


def holds_any_file_of(app, sha256):
    store = FilesystemPhotoStore(app.config["PHOTO_DIR"])
    return store.exists(sha256) or any(store.has_derivative(sha256, kind)
                                       for kind in ("thumb", "public"))


def error_of(response):
    return response.get_json()["error"]


def image_of(response):
    return Image.open(io.BytesIO(response.get_data()))


def jpeg_with_gps(size=(900, 600), lonlat=(106.0456, 39.0123)):
    """A JPEG large enough to be shrunk, whose EXIF carries a GPS position and a time."""
    exif = Image.Exif()
    lon, lat = lonlat
    exif.get_ifd(0x8825).update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    exif.get_ifd(0x8769).update({0x9003: "2026:03:07 10:00:00"})
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif.tobytes())
    return buffer.getvalue()


def _dms(value):
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return degrees, minutes, round(((value - degrees) * 60 - minutes) * 60, 4)


# The shared sample photos


def test_a_new_photo_is_stored_and_described(client, db_session, headers):
    data = (PHOTOS / "hopper.jpg").read_bytes()
    response = put(client, headers["wang"], data)
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert (photo["sha256"], photo["size"], photo["mime"]) == (sha(data), len(data), "image/jpeg")
    assert (photo["width"], photo["height"], photo["exif_status"]) == (128, 128, "absent")
    assert FilesystemPhotoStore(client.application.config["PHOTO_DIR"]).exists(sha(data))


def test_the_same_bytes_again_are_a_no_op(client, db_session, headers):
    data = (PHOTOS / "hopper.jpg").read_bytes()
    assert put(client, headers["wang"], data).status_code == 201
    before = stored(db_session, client.application)
    again = put(client, headers["wang"], data)
    assert again.status_code == 200
    assert again.get_json()["sha256"] == sha(data)
    assert stored(db_session, client.application) == before
    assert before["photos"] == [sha(data)]


def test_an_orientation_6_photo_is_stored_with_readable_exif(client, headers):
    response = put(client, headers["wang"],
                   (PHOTOS / "hopper_orientation_6.jpg").read_bytes())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["exif_status"] == "ok"


def test_the_thumbnail_of_an_orientation_6_photo_is_served_upright(client, headers):
    data = (PHOTOS / "hopper_orientation_6.jpg").read_bytes()
    assert put(client, headers["wang"], data).status_code == 201
    response = client.get(f"/api/v1/photos/{sha(data)}/thumb", headers=headers["wang"])
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    thumb = image_of(response).convert("RGB")
    raw = Image.open(io.BytesIO(data))
    upright = ImageOps.exif_transpose(raw).convert("RGB")
    as_stored = raw.convert("RGB")
    assert thumb.size == upright.size

    def mean_difference(a, b):
        histogram = ImageChops.difference(a, b).convert("L").histogram()
        return sum(value * count for value, count in enumerate(histogram)) / sum(histogram)

    # JPEG re-encoding moves pixels by a few levels; a wrong orientation moves them by far more.
    assert mean_difference(thumb, upright) < 5
    assert mean_difference(thumb, as_stored) > 20


def test_a_photo_whose_gps_block_is_broken_is_kept_without_a_position(client, headers):
    # The block parses, but its latitude is one huge number with no N/S reference and it has no
    # longitude: no position can be trusted. Its DateTimeOriginal (2099) is read as written.
    response = put(client, headers["wang"], (PHOTOS / "exif_gps.jpg").read_bytes())
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert photo["exif_status"] == "ok"
    assert (photo["gps_lon"], photo["gps_lat"]) == (None, None)
    assert photo["taken_at"] == "2099-09-29T10:10:10"


@pytest.mark.parametrize("exif", [b"Exif\x00\x00not a TIFF block",
                                  b"Exif\x00\x00II*\x00\xff\xff\x00\x00"],
                         ids=["no_tiff_header", "ifd_offset_past_the_end"])
def test_a_photo_with_unreadable_exif_is_kept_and_recorded_unreadable(client, headers, exif):
    response = put(client, headers["wang"], jpeg_bytes(7, exif=exif))
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert photo["exif_status"] == "unreadable"
    assert (photo["taken_at"], photo["gps_lon"], photo["gps_lat"]) == (None, None, None)


@pytest.mark.parametrize(("name", "code"), [("truncated_jpeg.jpg", "truncated_image"),
                                            ("decompression_bomb.gif", "decompression_bomb")])
def test_a_rejected_sample_leaves_nothing_stored(client, db_session, headers, name, code):
    data = (PHOTOS / name).read_bytes()
    before = stored(db_session, client.application)
    response = put(client, headers["wang"], data)
    assert response.status_code == 422
    assert error_of(response)["code"] == code
    assert stored(db_session, client.application) == before
    assert not holds_any_file_of(client.application, sha(data))


# Bad uploads


def test_bytes_that_do_not_match_the_hash_are_refused(client, db_session, headers):
    data = (PHOTOS / "hopper.jpg").read_bytes()
    claimed = sha(b"other bytes")
    before = stored(db_session, client.application)
    response = put(client, headers["wang"], data, claimed)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "hash_mismatch"
    assert error["details"] == {"expected": claimed, "actual": sha(data)}
    assert stored(db_session, client.application) == before
    assert not holds_any_file_of(client.application, claimed)


def test_a_non_image_with_its_correct_hash_is_refused(client, db_session, headers):
    data = "现场记录：这不是照片\n".encode()
    before = stored(db_session, client.application)
    response = put(client, headers["wang"], data)
    assert response.status_code == 422
    assert error_of(response)["code"] == "not_an_image"
    assert stored(db_session, client.application) == before
    assert not holds_any_file_of(client.application, sha(data))


@pytest.mark.parametrize("name", ["uppercase", "not_hex"])
def test_a_64_character_name_that_is_not_a_lowercase_hash_is_refused(client, db_session,
                                                                     headers, name):
    data = (PHOTOS / "hopper.jpg").read_bytes()
    bad = {"uppercase": sha(data).upper(), "not_hex": "z" * 64}[name]
    before = stored(db_session, client.application)
    response = put(client, headers["wang"], data, bad)
    assert response.status_code == 422
    assert error_of(response)["code"] == "bad_hash"
    assert stored(db_session, client.application) == before


def test_a_name_shorter_than_a_hash_is_not_a_photo_address(client, db_session, headers):
    # The route only matches 64 characters; a shorter name addresses nothing.
    data = (PHOTOS / "hopper.jpg").read_bytes()
    before = stored(db_session, client.application)
    response = put(client, headers["wang"], data, sha(data)[:63])
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert stored(db_session, client.application) == before


def test_an_empty_body_is_refused(client, db_session, headers):
    before = stored(db_session, client.application)
    response = put(client, headers["wang"], b"")
    assert response.status_code == 422
    assert error_of(response)["code"] == "empty_body"
    assert stored(db_session, client.application) == before


def test_a_photo_over_the_size_limit_is_refused(client, db_session, headers, monkeypatch):
    from server.photos import PhotoLimits

    limits = client.application.extensions["photo_limits"]
    monkeypatch.setitem(client.application.extensions, "photo_limits",
                        PhotoLimits(max_bytes=1000, max_pixels=limits.max_pixels))
    data = (PHOTOS / "hopper.jpg").read_bytes()
    before = stored(db_session, client.application)
    response = put(client, headers["wang"], data)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "photo_too_large"
    assert error["details"] == {"limit": 1000}
    assert stored(db_session, client.application) == before


# Derivatives


@pytest.fixture
def gps_photo(client, headers):
    data = jpeg_with_gps()
    response = put(client, headers["wang"], data)
    assert response.status_code == 201
    assert response.get_json()["gps_lat"] == pytest.approx(39.0123, abs=1e-4)
    return data


def test_the_public_copy_carries_no_exif(client, headers, gps_photo):
    response = client.get(f"/api/v1/photos/{sha(gps_photo)}/public", headers=headers["wang"])
    assert response.status_code == 200
    public = image_of(response)
    assert public.format == "JPEG"
    assert len(public.getexif()) == 0
    assert "exif" not in public.info


def test_the_thumbnail_fits_in_320_pixels(client, headers, gps_photo):
    response = client.get(f"/api/v1/photos/{sha(gps_photo)}/thumb", headers=headers["wang"])
    assert response.status_code == 200
    thumb = image_of(response)
    assert max(thumb.size) <= 320
    assert thumb.size == (320, 213)


def test_the_original_is_served_byte_identical(client, headers, gps_photo):
    response = client.get(f"/api/v1/photos/{sha(gps_photo)}/original",
                          headers=headers["wang"])
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.get_data() == gps_photo


# Who may read a photo


@pytest.fixture
def linked_photo(client, db_session, world, headers):
    """A photo the coordinator uploaded and named in an inspection of the clinic."""
    data = (PHOTOS / "hopper.jpg").read_bytes()
    assert put(client, headers["wang"], data).status_code == 201
    sent = inspection_data(db_session, world.clinic, photos=[sha(data)])
    sent["device_time"] = sent["device_time"].isoformat()
    response = client.post("/api/v1/inspections/", json=sent, headers=headers["wang"])
    assert response.status_code == 201
    assert response.get_json()["complete"] is True
    return sha(data)


@pytest.mark.parametrize("path", ["", "/original", "/thumb", "/public"],
                         ids=["facts", "original", "thumb", "public"])
def test_a_coordinator_of_another_cell_cannot_read_the_photo(client, headers, linked_photo, path):
    response = client.get(f"/api/v1/photos/{linked_photo}{path}", headers=headers["zhao"])
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_supervisor_of_another_district_cannot_read_the_photo(client, headers, linked_photo):
    response = client.get(f"/api/v1/photos/{linked_photo}/original",
                          headers=headers["other_chief"])
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("path", ["", "/original", "/thumb", "/public"],
                         ids=["facts", "original", "thumb", "public"])
def test_the_uploader_can_read_the_photo(client, headers, linked_photo, path):
    response = client.get(f"/api/v1/photos/{linked_photo}{path}", headers=headers["wang"])
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["", "/original", "/thumb", "/public"],
                         ids=["facts", "original", "thumb", "public"])
def test_a_supervisor_of_the_cell_can_read_the_photo(client, headers, linked_photo, path):
    response = client.get(f"/api/v1/photos/{linked_photo}{path}", headers=headers["chief"])
    assert response.status_code == 200


def test_an_unlinked_photo_is_readable_by_its_uploader_alone(client, headers):
    data = (PHOTOS / "hopper.jpg").read_bytes()
    assert put(client, headers["wang"], data).status_code == 201
    url = f"/api/v1/photos/{sha(data)}"
    assert client.get(url, headers=headers["wang"]).status_code == 200
    refused = client.get(url, headers=headers["chief"])
    assert refused.status_code == 404 and error_of(refused)["code"] == "not_found"
