"""Check field photos, read their EXIF and make derivatives with Pillow alone."""

import io
import math
import re
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 64_000_000
THUMBNAIL_SIZE = 320
PUBLIC_MAX_SIDE = 1600

# Field photos come from phone cameras: JPEG, sometimes PNG (screenshots) or WebP.
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# Many phones write multi-picture JPEGs (MPF); Pillow names them MPO, they are JPEG files.
FORMAT_ALIASES = {"MPO": "JPEG"}
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

NOT_AN_IMAGE = "not_an_image"
TRUNCATED_IMAGE = "truncated_image"
CORRUPT_IMAGE = "corrupt_image"
DECOMPRESSION_BOMB = "decompression_bomb"
UNSUPPORTED_FORMAT = "unsupported_format"

EXIF_OK = "ok"
EXIF_ABSENT = "absent"
EXIF_UNREADABLE = "unreadable"

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_ORIENTATION = 0x0112
_DATETIME = 0x0132
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME = 0x9010
_OFFSET_TIME_ORIGINAL = 0x9011
_SUBSEC_TIME_ORIGINAL = 0x9291
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DATETIME_PATTERN = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_PATTERN = re.compile(r"([+-])(\d{2}):?(\d{2})")

# catch_warnings swaps process-wide state; the lock keeps our own blocks from interleaving.
_WARNINGS_LOCK = threading.Lock()


class ImageRejected(ValueError):
    """A photo that cannot be accepted, with a machine-readable code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    """What a photo is: format, displayed size and the EXIF facts used as evidence."""

    format: str
    mime: str
    width: int
    height: int
    orientation: int | None
    exif_status: str
    taken_at: datetime | None
    gps_lon: float | None
    gps_lat: float | None


@dataclass(frozen=True)
class ProcessedImage:
    """A checked photo with its thumbnail and public copy, from a single decode."""

    info: ImageInfo
    thumbnail: bytes
    public_copy: bytes


@contextmanager
def _pillow_warnings():
    """Collect the warnings Pillow raises in the block instead of printing or raising them."""
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _decode_error(exc):
    """Turn a Pillow decode failure into a rejection."""
    # Pillow raises plain OSError for both; only its message tells truncation from corruption.
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return ImageRejected(TRUNCATED_IMAGE, f"the image data is cut short: {exc}")
    return ImageRejected(CORRUPT_IMAGE, f"the image data is corrupt: {exc}")


def _open_checked(data, max_pixels, formats=None):
    """Open the image header; reject bombs and unsupported formats; return it and its format."""
    if not data:
        raise ImageRejected(NOT_AN_IMAGE, "the body is empty")
    with _pillow_warnings() as caught:
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
        except Image.DecompressionBombError:
            message = f"the image claims far more than {max_pixels} pixels"
            raise ImageRejected(DECOMPRESSION_BOMB, message) from None
        except UnidentifiedImageError:
            raise ImageRejected(NOT_AN_IMAGE, "the body is not a recognised image") from None
        except (OSError, EOFError, SyntaxError, ValueError, IndexError, TypeError) as exc:
            raise _decode_error(exc) from None
        seen = list(caught)
    width, height = image.size
    pixels = max(width, 1) * max(height, 1)
    bomb_warned = any(issubclass(w.category, Image.DecompressionBombWarning) for w in seen)
    if bomb_warned or pixels > max_pixels:
        image.close()
        message = f"the image claims {pixels} pixels, more than the limit of {max_pixels}"
        raise ImageRejected(DECOMPRESSION_BOMB, message)
    kind = FORMAT_ALIASES.get(image.format, image.format)
    if kind not in ALLOWED_FORMATS:
        image.close()
        allowed = ", ".join(sorted(ALLOWED_FORMATS))
        message = f"{image.format} photos are not accepted, only {allowed}"
        raise ImageRejected(UNSUPPORTED_FORMAT, message)
    return image, kind


def _text(value):
    """Return an EXIF ASCII value as a stripped string, or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ") or None


def _parse_offset(value):
    """Parse an EXIF OffsetTime like '+08:00' into a timezone, or None."""
    match = _OFFSET_PATTERN.fullmatch(_text(value) or "")
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if sign == "-" else delta)


def parse_exif_datetime(value, offset=None, subsec=None):
    """Parse an EXIF 'YYYY:MM:DD HH:MM:SS' time; aware only when an offset is given."""
    match = _DATETIME_PATTERN.match(_text(value) or "")
    if not match:
        return None
    try:
        moment = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    digits = (_text(subsec) or "")[:6]
    if digits.isdigit():
        moment = moment.replace(microsecond=int(digits.ljust(6, "0")))
    zone = _parse_offset(offset) if offset is not None else None
    return moment.replace(tzinfo=zone) if zone else moment


def _degrees(value):
    """Turn an EXIF GPS coordinate (degrees, minutes, seconds) into decimal degrees."""
    parts = value if isinstance(value, tuple) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    try:
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(n) and n >= 0 for n in numbers):
        return None
    if any(n >= 60 for n in numbers[1:]):
        return None
    return sum(n / 60**i for i, n in enumerate(numbers))


def parse_gps(gps):
    """Return (lon, lat) in signed decimal degrees from a GPS IFD, or (None, None)."""
    lat, lon = _degrees(gps.get(_GPS_LAT)), _degrees(gps.get(_GPS_LON))
    lat_ref = (_text(gps.get(_GPS_LAT_REF)) or "").upper()
    lon_ref = (_text(gps.get(_GPS_LON_REF)) or "").upper()
    # Without its reference the sign of a coordinate is unknown; guessing would misplace it.
    if lat is None or lon is None or lat_ref not in ("N", "S") or lon_ref not in ("E", "W"):
        return None, None
    if lat > 90 or lon > 180 or (lat == 0 and lon == 0):
        return None, None  # out of range, or the 0,0 that cameras write when they had no fix
    return (-lon if lon_ref == "W" else lon), (-lat if lat_ref == "S" else lat)


def _has_tiff_header(raw):
    """Tell whether raw EXIF bytes start with a TIFF header (after an optional Exif prefix)."""
    if raw.startswith(b"Exif\x00\x00"):
        raw = raw[6:]
    return raw[:4] in (b"II*\x00", b"MM\x00*")


def _read_exif(image):
    """Read orientation, time and GPS; broken EXIF gives status unreadable, never an error."""
    raw = image.info.get("exif")
    if not raw:
        return EXIF_ABSENT, None, None, None, None
    if not isinstance(raw, bytes) or not _has_tiff_header(raw):
        return EXIF_UNREADABLE, None, None, None, None
    with _pillow_warnings() as caught:
        try:
            exif = image.getexif()
            details = exif.get_ifd(_EXIF_IFD)
            gps = exif.get_ifd(_GPS_IFD)
            orientation = exif.get(_ORIENTATION)
            original = details.get(_DATETIME_ORIGINAL)
            if original is not None:
                offset = details.get(_OFFSET_TIME_ORIGINAL)
                taken_at = parse_exif_datetime(original, offset, details.get(_SUBSEC_TIME_ORIGINAL))
            else:
                taken_at = parse_exif_datetime(exif.get(_DATETIME), details.get(_OFFSET_TIME))
            lon, lat = parse_gps(gps)
        except Exception:  # noqa: BLE001 - any failure inside EXIF means "unreadable", not a crash
            return EXIF_UNREADABLE, None, None, None, None
        broken = bool(caught) or not (len(exif) or details or gps)
    if not (isinstance(orientation, int) and 1 <= orientation <= 8):
        orientation = None
    if broken:
        # Time and place are evidence: from a damaged block they are not trusted. Orientation
        # is only about display, so it is kept when it could be read.
        return EXIF_UNREADABLE, orientation, None, None, None
    return EXIF_OK, orientation, taken_at, lon, lat


def _identify(data, max_pixels):
    """Open and check the header, read EXIF, and return the open image with its ImageInfo."""
    image, kind = _open_checked(data, max_pixels)
    status, orientation, taken_at, lon, lat = _read_exif(image)
    width, height = image.size
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    info = ImageInfo(
        format=kind,
        mime=MIME_TYPES[kind],
        width=width,
        height=height,
        orientation=orientation,
        exif_status=status,
        taken_at=taken_at,
        gps_lon=lon,
        gps_lat=lat,
    )
    return image, info


def _fit(size, max_side):
    """Return size scaled down (never up) so its longer side is at most max_side."""
    width, height = size
    scale = max_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(data, max_pixels, max_side, formats):
    """Decode the image, in JPEG draft mode when it only needs to be max_side pixels."""
    image, _ = _open_checked(data, max_pixels, formats)
    # Draft mode scales by 1/2, 1/4 or 1/8 inside the JPEG decoder but still reads
    # every byte of the scan, so a truncated file fails here as it would in full.
    image.draft("RGB", _fit(image.size, max_side))
    try:
        image.load()
    except (OSError, EOFError, SyntaxError, ValueError, IndexError, TypeError) as exc:
        image.close()
        raise _decode_error(exc) from None
    return image


def _verify(image):
    """Run Pillow's structural check (PNG chunk CRCs and the like) and close the image."""
    with image:
        try:
            image.verify()
        except (OSError, EOFError, SyntaxError, ValueError, IndexError, TypeError) as exc:
            raise _decode_error(exc) from None


def _to_rgb(image):
    """Return an RGB or L image, putting transparent areas on white."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
        return image
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _oriented(image, orientation):
    """Apply the EXIF orientation to the pixels (the table ImageOps.exif_transpose uses)."""
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


def _shrink(image, max_side):
    """Resize so the longer side is at most max_side pixels."""
    target = _fit(image.size, max_side)
    if target == image.size:
        return image
    # HAMMING costs half of LANCZOS on a 12-megapixel decode and is sharper than BILINEAR;
    # reducing_gap lets a cheap box reduce() do most of a large shrink first.
    return image.resize(target, Image.Resampling.HAMMING, reducing_gap=2.0)


def _encode_jpeg(image, quality):
    """Encode as a baseline JPEG carrying no metadata at all."""
    clean = Image.new(image.mode, image.size)
    clean.paste(image)  # a fresh image has no info: no EXIF, GPS, XMP, ICC profile or comment
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=quality, exif=b"")
    return out.getvalue()


def inspect_image(data, *, max_pixels=DEFAULT_MAX_PIXELS, decode=True):
    """Check that data is an accepted, complete image and describe it.

    A JPEG (what terminals send) is checked by its structure: headers, then a scan ended by
    its end-of-image marker; its pixels are decoded when the thumbnail is first made. Other
    formats are decoded. decode=False reads only the header and EXIF: for bytes already
    checked once.
    """
    image, info = _identify(data, max_pixels)
    if not decode:
        image.close()
        return info
    _verify(image)
    if info.format == "JPEG":
        if not jpeg_is_complete(data):
            raise ImageRejected(TRUNCATED_IMAGE, "the image data is cut short: the JPEG has no "
                                                 "end-of-image marker after its scan")
        return info
    _decode(data, max_pixels, THUMBNAIL_SIZE, [info.format]).close()
    return info


def jpeg_is_complete(data):
    """Tell whether a JPEG's headers lead to a scan that its end-of-image marker closes.

    Entropy-coded data never holds 0xFF 0xD9 (a 0xFF there is followed by 0x00 or a restart
    marker), so the first EOI after the first start-of-scan ends the image; bytes after it,
    such as a phone's motion-photo trailer, do not matter.
    """
    if data[:2] != b"\xff\xd8":
        return False
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            position += 2
            continue
        if marker == 0xD9:  # EOI before any scan
            return False
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if length < 2:
            return False
        if marker == 0xDA:  # start of scan: the entropy-coded data follows its header
            scan = position + 2 + length
            return scan < len(data) and data.find(b"\xff\xd9", scan) != -1
        position += 2 + length
    return False


def process_image(
    data,
    *,
    max_pixels=DEFAULT_MAX_PIXELS,
    thumbnail_size=THUMBNAIL_SIZE,
    public_max_side=PUBLIC_MAX_SIDE,
):
    """Check the image and make its thumbnail and public copy from one decode."""
    image, info = _identify(data, max_pixels)
    _verify(image)
    decoded = _decode(data, max_pixels, max(public_max_side, thumbnail_size), [info.format])
    with decoded:
        # Shrink before turning: the longest side is the same either way, the work is smaller.
        public = _oriented(_shrink(_to_rgb(decoded), public_max_side), info.orientation)
        public_copy = _encode_jpeg(public, quality=85)
        thumbnail = _encode_jpeg(_shrink(public, thumbnail_size), quality=80)
    return ProcessedImage(info=info, thumbnail=thumbnail, public_copy=public_copy)


def _derivative(data, max_side, quality, max_pixels):
    """Decode just enough of an image to make one oriented, metadata-free JPEG."""
    image, info = _identify(data, max_pixels)
    image.close()
    with _decode(data, max_pixels, max_side, [info.format]) as decoded:
        small = _shrink(_to_rgb(decoded), max_side)
        return _encode_jpeg(_oriented(small, info.orientation), quality)


def make_thumbnail(data, size=THUMBNAIL_SIZE, *, max_pixels=DEFAULT_MAX_PIXELS):
    """Make an oriented JPEG thumbnail that fits in size x size and carries no EXIF."""
    return _derivative(data, size, 80, max_pixels)


def make_public_copy(data, max_side=PUBLIC_MAX_SIDE, *, max_pixels=DEFAULT_MAX_PIXELS):
    """Make an oriented JPEG for publication with every piece of metadata stripped."""
    return _derivative(data, max_side, 85, max_pixels)
