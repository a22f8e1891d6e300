"""Checking photos, reading their EXIF and making derivatives."""

import io
import struct
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, features

from server.photos.imaging import (
    ImageRejected,
    inspect_image,
    jpeg_is_complete,
    make_public_copy,
    make_thumbnail,
    parse_exif_datetime,
    parse_gps,
    process_image,
)

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"
GPS_IFD, EXIF_IFD = 0x8825, 0x8769


def sample(name):
    return (PHOTOS / name).read_bytes()


def gradient(size):
    """Return an RGB image whose corners all differ, so rotations are visible."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.dstack([x, y, 255 - x]))


def jpeg(size=(40, 20), exif=None, **options):
    """Encode a gradient as JPEG with optional EXIF and save options."""
    out = io.BytesIO()
    gradient(size).save(out, "JPEG", exif=exif if exif is not None else b"", **options)
    return out.getvalue()


def field_exif(lat=(39, 54, 27.0), lat_ref="N", lon=(116, 23, 50.4), lon_ref="E", orientation=None):
    """Build the EXIF a phone writes: time with offset, GPS, optionally orientation."""
    exif = Image.Exif()
    exif[0x010F] = "Huawei"
    if orientation:
        exif[0x0112] = orientation
    details = exif.get_ifd(EXIF_IFD)
    details[0x9003] = "2026:11:02 09:30:15"
    details[0x9011] = "+08:00"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: lat_ref, 2: lat, 3: lon_ref, 4: lon})
    return exif


def with_app1(data, payload):
    """Insert an APP1 segment right after the JPEG SOI marker."""
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def png_header_only(width, height):
    """Return a PNG that claims width x height pixels but holds no pixel data."""
    def chunk(kind, body):
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def rejected_code(data, **kwargs):
    with pytest.raises(ImageRejected) as caught:
        inspect_image(data, **kwargs)
    return caught.value.code


def opened(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# The sample photos


def test_ordinary_photo_is_accepted_without_exif():
    info = inspect_image(sample("hopper.jpg"))
    assert (info.format, info.mime, info.width, info.height) == ("JPEG", "image/jpeg", 128, 128)
    assert info.exif_status == "absent"
    assert (info.orientation, info.taken_at, info.gps_lon, info.gps_lat) == (None, None, None, None)


def test_exif_gps_sample_is_kept_with_its_time_and_without_implausible_gps():
    # Its GPS IFD holds one latitude rational of 4294967295 and no refs or longitude.
    info = inspect_image(sample("exif_gps.jpg"))
    assert info.exif_status == "ok"
    assert info.taken_at == datetime(2099, 9, 29, 10, 10, 10)
    assert (info.gps_lon, info.gps_lat) == (None, None)


def test_rotated_sample_reports_orientation_6():
    info = inspect_image(sample("hopper_orientation_6.jpg"))
    assert info.orientation == 6
    assert info.exif_status == "ok"


def test_truncated_sample_is_rejected_as_truncated():
    assert rejected_code(sample("truncated_jpeg.jpg")) == "truncated_image"


def test_truncated_check_leaves_pillow_strict():
    rejected_code(sample("truncated_jpeg.jpg"))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decompression_bomb_sample_is_rejected_as_a_bomb():
    assert rejected_code(sample("decompression_bomb.gif")) == "decompression_bomb"


# Rejections


def test_text_is_not_an_image():
    assert rejected_code("巡查记录: 一切正常\n".encode()) == "not_an_image"


def test_empty_body_is_not_an_image():
    assert rejected_code(b"") == "not_an_image"


def test_jpeg_cut_inside_its_header_is_truncated():
    assert rejected_code(sample("hopper.jpg")[:100]) == "truncated_image"


def test_header_over_pillow_warning_limit_is_a_bomb_without_a_warning():
    # 100 Mpx is between Pillow's warning and error limits; filterwarnings=error guards leaks.
    data = png_header_only(10_000, 10_000)
    assert rejected_code(data, max_pixels=200_000_000) == "decompression_bomb"


def test_header_over_our_limit_is_a_bomb_before_decoding():
    assert rejected_code(png_header_only(9_000, 8_000)) == "decompression_bomb"


def test_max_pixels_is_applied_to_ordinary_photos():
    assert rejected_code(sample("hopper.jpg"), max_pixels=128 * 127) == "decompression_bomb"


def test_small_gif_is_an_unsupported_format():
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    assert rejected_code(out.getvalue()) == "unsupported_format"


def test_png_with_a_broken_chunk_is_corrupt():
    out = io.BytesIO()
    gradient((16, 16)).save(out, "PNG")
    data = bytearray(out.getvalue())
    data[-20] ^= 0xFF  # inside the IDAT chunk, so its CRC no longer matches
    assert rejected_code(bytes(data)) == "corrupt_image"


# EXIF


def test_gps_north_east_is_positive_decimal_degrees():
    info = inspect_image(jpeg(exif=field_exif()))
    assert info.gps_lat == pytest.approx(39.9075)
    assert info.gps_lon == pytest.approx(116.3973333)


def test_gps_south_west_is_negative():
    info = inspect_image(jpeg(exif=field_exif(lat_ref="S", lon_ref="W")))
    assert info.gps_lat == pytest.approx(-39.9075)
    assert info.gps_lon == pytest.approx(-116.3973333)


def test_gps_without_a_reference_is_dropped():
    assert parse_gps({2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.4)}) == (None, None)


def test_gps_at_zero_zero_is_dropped():
    assert parse_gps({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}) == (None, None)


def test_taken_at_is_aware_when_the_offset_is_recorded():
    info = inspect_image(jpeg(exif=field_exif()))
    assert info.taken_at == datetime(2026, 11, 2, 9, 30, 15, tzinfo=timezone(timedelta(hours=8)))


def test_taken_at_is_naive_without_an_offset():
    assert parse_exif_datetime("2026:11:02 09:30:15") == datetime(2026, 11, 2, 9, 30, 15)


def test_taken_at_falls_back_to_datetime():
    exif = Image.Exif()
    exif[0x0132] = "2026:10:01 08:00:00"
    assert inspect_image(jpeg(exif=exif)).taken_at == datetime(2026, 10, 1, 8, 0, 0)


def test_impossible_exif_date_is_none():
    assert parse_exif_datetime("1999:99:99 99:99:99") is None


def test_orientation_6_swaps_width_and_height():
    info = inspect_image(jpeg((40, 20), exif=field_exif(orientation=6)))
    assert (info.width, info.height) == (20, 40)


def test_exif_that_is_not_tiff_is_unreadable_and_the_photo_is_kept():
    data = with_app1(jpeg(), b"Exif\x00\x00\x12\x34garbage-garbage")
    assert inspect_image(data).exif_status == "unreadable"
    assert process_image(data).thumbnail


def test_exif_with_offsets_past_its_end_is_unreadable_without_warnings():
    entry = struct.pack("<HHII", 0x0132, 2, 1000, 500)  # DateTime, 1000 bytes at offset 500
    payload = b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 1) + entry + b"\x00\x00\x00\x00"
    info = inspect_image(with_app1(jpeg(), payload))
    assert info.exif_status == "unreadable"
    assert info.taken_at is None


# Derivatives


def test_thumbnail_fits_the_requested_size():
    thumbnail = opened(make_thumbnail(jpeg((400, 300)), 64))
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (64, 48)


def test_thumbnail_is_never_enlarged():
    assert opened(make_thumbnail(jpeg((40, 20)), 320)).size == (40, 20)


def test_thumbnail_of_rotated_sample_is_turned_upright():
    data = sample("hopper_orientation_6.jpg")
    thumbnail = np.asarray(opened(make_thumbnail(data, 64)), dtype=int)
    with Image.open(io.BytesIO(data)) as original:
        upright = np.asarray(ImageOps.exif_transpose(original).resize((64, 64)), dtype=int)
        sideways = np.asarray(original.convert("RGB").resize((64, 64)), dtype=int)
    assert np.abs(thumbnail - upright).mean() < 15 < np.abs(thumbnail - sideways).mean()


def test_thumbnail_carries_no_exif():
    assert not opened(make_thumbnail(jpeg(exif=field_exif()), 16)).getexif()


def test_public_copy_has_no_exif_gps_comment_or_profile():
    data = jpeg((400, 300), exif=field_exif(orientation=6), comment=b"39.9075N 116.3973E",
                icc_profile=b"fake profile naming a place")
    public = opened(make_public_copy(data, 200))
    assert not public.getexif()
    assert not public.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(public.info)
    assert public.size == (150, 200)


def test_transparent_png_gets_a_white_background():
    image = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    assert opened(make_thumbnail(out.getvalue(), 20)).getpixel((5, 5)) == (255, 255, 255)


def test_multi_picture_jpeg_from_a_phone_is_a_jpeg():
    out = io.BytesIO()
    gradient((40, 30)).save(out, "MPO", save_all=True, append_images=[gradient((40, 30))])
    processed = process_image(out.getvalue())
    assert (processed.info.format, processed.info.mime) == ("JPEG", "image/jpeg")


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp_is_accepted():
    out = io.BytesIO()
    gradient((30, 20)).save(out, "WEBP")
    assert inspect_image(out.getvalue()).mime == "image/webp"


def test_process_image_describes_like_inspect_image():
    data = jpeg((400, 300), exif=field_exif(orientation=8))
    processed = process_image(data, thumbnail_size=32, public_max_side=100)
    assert processed.info == inspect_image(data)
    assert opened(processed.thumbnail).size == (24, 32)
    assert opened(processed.public_copy).size == (75, 100)


def test_process_image_rejects_a_truncated_photo():
    with pytest.raises(ImageRejected) as caught:
        process_image(sample("truncated_jpeg.jpg"))
    assert caught.value.code == "truncated_image"


def test_header_only_inspection_skips_decoding():
    info = inspect_image(sample("truncated_jpeg.jpg"), decode=False)
    assert (info.width, info.height) == (100, 100)


# Upload checks a JPEG by its structure; its pixels are decoded for the thumbnail


def test_a_whole_jpeg_is_complete():
    assert jpeg_is_complete(sample("hopper.jpg"))


def test_a_jpeg_with_a_trailer_after_its_end_marker_is_complete():
    # Motion photos append a video after the JPEG's EOI.
    assert jpeg_is_complete(sample("hopper.jpg") + b"ftypmp42" + bytes(5000))


@pytest.mark.parametrize("cut", [2, 20, 400, -200, -2, -1])
def test_a_jpeg_cut_anywhere_is_not_complete(cut):
    assert not jpeg_is_complete(sample("hopper.jpg")[:cut])


def test_a_jpeg_cut_in_its_scan_is_refused_as_truncated_on_upload():
    data = sample("hopper.jpg")
    assert rejected_code(data[:len(data) - 300]) == "truncated_image"


def test_a_progressive_jpeg_is_complete():
    buffer = io.BytesIO()
    Image.open(io.BytesIO(sample("hopper.jpg"))).save(buffer, "JPEG", progressive=True)
    assert jpeg_is_complete(buffer.getvalue())
    assert not jpeg_is_complete(buffer.getvalue()[:-100])


def test_what_is_not_a_jpeg_is_not_complete():
    assert not jpeg_is_complete(b"\x89PNG\r\n\x1a\n" + bytes(100))
