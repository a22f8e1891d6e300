"""A record and its photos arriving at the same moment on different connections (PostgreSQL).

Whatever the order the two commit in, the record ends up complete, its evidence counts the
photo, and its terminal is told on its next pull.
"""

import threading
import time

from sqlalchemy import select

from server.models import ChangeEvent, GridCell, Inspection, Premises, User
from server.services.evidence import EvidenceLimits
from server.services.inspections import missing_photos, submit_inspection
from server.services.photos import upload_photo
from tests.factories import CLINIC_CELL, inspection_data, jpeg_bytes, make_world
from tests.live import concurrent_sessions

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 50_000_000, "limits": EvidenceLimits()}
EXIF_FAR_IN_THE_PAST = {0x9003: "2001:01:01 08:00:00"}  # DateTimeOriginal: an old photo


def the_clinic(session):
    """The shared world's clinic, in wang's cell (make_world prepares each database)."""
    return session.scalar(select(Premises).join(GridCell, Premises.cell_id == GridCell.id)
                          .where(GridCell.code == CLINIC_CELL))


def old_photo():
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8769).update(EXIF_FAR_IN_THE_PAST)
    return jpeg_bytes(5, size=(80, 60), exif=exif.tobytes())


def far_away_photo():
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (10.0, 0.0, 0.0), 3: "E", 4: (100.0, 0.0, 0.0)})
    return jpeg_bytes(6, size=(80, 60), exif=exif.tobytes())


def in_background(work):
    """Run work() in a thread; return (thread, outcome list)."""
    outcome = []

    def run():
        try:
            outcome.append(work())
        except Exception as error:  # noqa: BLE001 - reported by the test
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def blocked_or_done(observer, thread, seconds=10):
    """Wait until the thread's transaction waits on a lock, or the thread has finished."""
    from sqlalchemy import text

    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        thread.join(0.02)
        if not thread.is_alive() or observer.scalar(waiting):
            break
    observer.commit()


def photo_store(tmp_path):
    from server.photos import FilesystemPhotoStore

    return FilesystemPhotoStore(tmp_path / "photos")


def test_a_photo_uploaded_while_its_record_is_being_pushed(tmp_path):
    import hashlib

    data = old_photo()
    sha = hashlib.sha256(data).hexdigest()
    with concurrent_sessions(tmp_path, 3, prepare=make_world) as (pusher, uploader, reader):
        wang = pusher.scalar(select(User).where(User.username == "wang"))
        premises = the_clinic(pusher)
        record = inspection_data(pusher, premises, photos=[sha])
        inspection, _ = submit_inspection(pusher, wang, record)
        pusher.flush()  # written, not committed: the push is still going
        uploading, outcome = in_background(lambda: (
            upload_photo(uploader, photo_store(tmp_path),
                         uploader.get(User, wang.id), sha, data, **LIMITS),
            uploader.commit()))
        blocked_or_done(reader, uploading)  # the upload gets as far as it can
        pusher.commit()
        uploading.join(10)
        assert not isinstance(outcome[0], Exception), outcome
        stored = reader.get(Inspection, inspection.id)
        assert missing_photos(reader, stored) == []
        assert "photo_time_mismatch" in {flag["code"] for flag in stored.evidence_flags}
        told = reader.scalars(select(ChangeEvent.entity_id).where(
            ChangeEvent.entity_type == "inspection_status")).all()
        assert told == [str(inspection.id)]


def test_two_photos_of_one_record_uploaded_together_are_both_counted(tmp_path):
    import hashlib

    first, second = old_photo(), far_away_photo()
    shas = [hashlib.sha256(photo).hexdigest() for photo in (first, second)]
    with concurrent_sessions(tmp_path, 3, prepare=make_world) as (one, other, reader):
        wang = one.scalar(select(User).where(User.username == "wang"))
        premises = the_clinic(one)
        inspection, _ = submit_inspection(one, wang, inspection_data(one, premises, photos=shas))
        one.commit()
        upload_photo(one, photo_store(tmp_path), wang, shas[0], first, **LIMITS)
        one.flush()  # the first upload is still going
        uploading, outcome = in_background(lambda: (
            upload_photo(other, photo_store(tmp_path), other.get(User, wang.id), shas[1],
                         second, **LIMITS),
            other.commit()))
        blocked_or_done(reader, uploading)
        one.commit()
        uploading.join(10)
        assert not isinstance(outcome[0], Exception), outcome
        stored = reader.get(Inspection, inspection.id)
        # Each photo's finding is kept, whichever upload wrote the flags last.
        assert {"photo_time_mismatch", "photo_far_from_premises"} <= {
            flag["code"] for flag in stored.evidence_flags}
        assert missing_photos(reader, stored) == []
