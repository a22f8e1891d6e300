"""Photos: content-addressed (by SHA-256) and held by the users who sent their bytes."""

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models._types import UTCDateTime, utcnow


class Photo(db.Model):
    """A stored photo, content-addressed; its bytes live in the PhotoStore."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    exif_status: Mapped[str] = mapped_column(String(16))
    # EXIF time as written by the camera; its zone is unknown unless the camera wrote one.
    taken_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    gps_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    gps_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class PhotoHolder(db.Model):
    """A user who sent a photo's full bytes (proof of possession): only holders get access.

    Knowing a hash is not holding the photo: a record citing it counts the photo, and its
    scope may read it, only once the record's sender holds it.
    """

    __tablename__ = "photo_holders"

    sha256: Mapped[str] = mapped_column(ForeignKey("photos.sha256"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    first_sent_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
