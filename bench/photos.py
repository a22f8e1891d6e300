"""Bench: ingest synthetic 12-megapixel JPEGs and compare with the floor measured in the same run.

The floor per photo is what any store must do with the bytes: SHA-256, write them durably
(write + fsync) and a draft-mode JPEG decode to thumbnail scale. The upload cost is
ingest_photo into a FilesystemPhotoStore: hash, header and EXIF, verify, one draft decode at
thumbnail scale, one atomic fsync'd write. The first view then makes the thumbnail and the
public copy (one draft decode at public-copy scale, two encodes, two writes), once.
All run on the same bytes in this one process, alternating, so the ratios are what to compare.

    .venv/bin/python bench/photos.py [--count 200] [--seed 1]
"""

import argparse
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.photos import FilesystemPhotoStore, ingest_photo, open_derivative  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
BASE_IMAGES = 4
MAX_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 64_000_000
HOHHOT = (40.8424, 111.7490)


def smooth_noise(rng, cells, amplitude):
    """Return HEIGHT x WIDTH x 3 noise that varies smoothly over about cells blocks."""
    rows, cols = cells
    small = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    return (np.asarray(big, dtype=np.float32) - 128) * (amplitude / 128)


def base_image(rng):
    """Return a scene-like RGB array: broad colour areas, texture, gradients and sensor noise."""
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :, None]
    scene = 110 + 60 * y - 30 * x + smooth_noise(rng, (6, 8), 80)
    scene += smooth_noise(rng, (150, 200), 30) + smooth_noise(rng, (750, 1000), 20)
    # Luminance grain sized so files land near a phone's 3-4 MB at quality 85.
    scene += rng.normal(0, 7, (HEIGHT, WIDTH, 1)).astype(np.float32)
    return np.clip(scene, 0, 255).astype(np.uint8)


def field_exif(index, rng):
    """Return EXIF like a phone's: make, model, time with offset, GPS near Hohhot."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "HUAWEI", "bench-phone", 1
    details = exif.get_ifd(0x8769)
    minute, second = divmod(index, 60)
    details[0x9003] = f"2026:11:02 09:{minute % 60:02d}:{second:02d}"
    details[0x9011] = "+08:00"
    gps = exif.get_ifd(0x8825)
    lat, lon = HOHHOT[0] + rng.normal(0, 0.05), HOHHOT[1] + rng.normal(0, 0.05)
    gps.update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    return exif


def dms(value):
    """Split decimal degrees into degrees, minutes and seconds."""
    degrees, rest = divmod(abs(value) * 3600, 3600)
    minutes, seconds = divmod(rest, 60)
    return (float(degrees), float(minutes), round(seconds, 4))


def generate(directory, count, seed):
    """Write count different 12-megapixel JPEGs (quality 85, with EXIF) and return their paths."""
    rng = np.random.default_rng(seed)
    bases = [base_image(rng) for _ in range(BASE_IMAGES)]
    paths = []
    for index in range(count):
        # A shift moves content across the 8x8 blocks, a patch makes every file unique.
        pixels = np.roll(bases[index % BASE_IMAGES], rng.integers(0, 2000, 2), axis=(0, 1))
        top, left = rng.integers(0, HEIGHT - 256), rng.integers(0, WIDTH - 256)
        pixels[top:top + 256, left:left + 256] = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=85, exif=field_exif(index, rng))
        path = directory / f"{index:04d}.jpg"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def floor(data, directory, size=320):
    """Do the least any store does with the bytes; return seconds for each step."""
    started = time.perf_counter()
    digest = hashlib.sha256(data).hexdigest()
    hashed = time.perf_counter()
    path = directory / digest
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        written = time.perf_counter()
        os.fsync(handle.fileno())
    synced = time.perf_counter()
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (size, size))
        image.load()
    decoded = time.perf_counter()
    path.unlink()
    return {
        "sha256": hashed - started,
        "write": written - hashed,
        "fsync": synced - written,
        "decode": decoded - synced,
    }


def full(store, claimed, data):
    """Ingest the photo; return seconds taken."""
    started = time.perf_counter()
    photo = ingest_photo(store, claimed, data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    elapsed = time.perf_counter() - started
    assert photo.created and photo.info.gps_lat is not None, photo
    return elapsed


def first_view(store, sha256):
    """Make the thumbnail and public copy, as the first GET of either does; return seconds."""
    started = time.perf_counter()
    open_derivative(store, sha256, "thumb", max_pixels=MAX_PIXELS).close()
    return time.perf_counter() - started


def ms(seconds):
    return f"{seconds * 1000:7.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="photos to generate (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-photos-") as temp:
        temp = Path(temp)
        for name in ("generated", "floor", "store"):
            (temp / name).mkdir()
        started = time.perf_counter()
        paths = generate(temp / "generated", args.count + 1, args.seed)
        sizes = [path.stat().st_size for path in paths[1:]]
        elapsed = time.perf_counter() - started
        print(f"generated {args.count} JPEGs {WIDTH}x{HEIGHT} q85 with EXIF+GPS in {elapsed:.1f} s;"
              f" size mean {statistics.mean(sizes) / 1e6:.2f} MB"
              f" (min {min(sizes) / 1e6:.2f}, max {max(sizes) / 1e6:.2f})")

        store = FilesystemPhotoStore(temp / "store")
        warm = paths[0].read_bytes()  # first call pays for imports and plugin set-up
        floor(warm, temp / "floor")
        full(store, hashlib.sha256(warm).hexdigest(), warm)

        floors, fulls, views = [], [], []
        for index, path in enumerate(paths[1:]):
            data = path.read_bytes()
            claimed = hashlib.sha256(data).hexdigest()  # the client's name for it, not timed
            if index % 2:  # alternate the order so neither side always runs on a warm cache
                fulls.append(full(store, claimed, data))
                floors.append(floor(data, temp / "floor"))
            else:
                floors.append(floor(data, temp / "floor"))
                fulls.append(full(store, claimed, data))
            views.append(first_view(store, claimed))

    floor_totals = [sum(steps.values()) for steps in floors]
    steps = {name: statistics.mean(f[name] for f in floors) for name in floors[0]}
    floor_mean, full_mean = statistics.mean(floor_totals), statistics.mean(fulls)
    print(f"floor  sha256 + write + fsync + draft decode: mean {ms(floor_mean)}, "
          f"median {ms(statistics.median(floor_totals))}, {1 / floor_mean:6.1f} photos/s")
    parts = ", ".join(f"{name} {ms(value).strip()}" for name, value in steps.items())
    print(f"       steps: {parts}")
    print(f"upload ingest_photo (FilesystemPhotoStore):   mean {ms(full_mean)}, "
          f"median {ms(statistics.median(fulls))}, {1 / full_mean:6.1f} photos/s")
    print(f"view   first thumbnail + public copy, once:   mean {ms(statistics.mean(views))}, "
          f"median {ms(statistics.median(views))}")
    print(f"ratio  upload/floor: mean {full_mean / floor_mean:.2f}, "
          f"median {statistics.median(fulls) / statistics.median(floor_totals):.2f}; "
          f"(upload + first view)/floor: mean "
          f"{(full_mean + statistics.mean(views)) / floor_mean:.2f}")


if __name__ == "__main__":
    main()
