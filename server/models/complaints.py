"""Complaints and reports (投诉举报) and the complainant's personal data, kept apart."""

from datetime import date

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow

COMPLAINT_CHANNELS = {
    "phone": ("电话", "Phone"),
    "letter": ("信件", "Letter"),
    "web": ("网站", "Web"),
    "hotline_12345": ("12345热线转办", "12345 hotline transfer"),
}
COMPLAINT_STATUSES = {
    "received": ("已受理", "Received"),
    "verifying": ("核查中", "Verifying"),
    "verified": ("查证属实", "Verified"),
    "unfounded": ("查无实据", "Unfounded"),
}
VERIFICATION_OUTCOMES = ("verified", "unfounded")


class ComplaintCategory(db.Model):
    """What a complaint is about; a table so offices can add their own."""

    __tablename__ = "complaint_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(64))
    label_en: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Complaint(db.Model):
    """A complaint or report: routed to a cell, verified by its staff, answered if real-name.

    cell_id None: not routed yet (the whole grid's queue). No complainant data here: it lives
    in Complainant, which only the office's serialiser reads.
    """

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    received_at = mapped_column(UTCDateTime, nullable=False)
    category_code: Mapped[str] = mapped_column(ForeignKey("complaint_categories.code"))
    content: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200), default="")
    # WGS84 (EPSG:4326), as the terminals and the premises directory use.
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    premises_id: Mapped[int | None] = mapped_column(ForeignKey("premises.id"), index=True,
                                                    nullable=True)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), index=True,
                                                nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    routed_at = mapped_column(UTCDateTime, nullable=True)
    verification_result: Mapped[str | None] = mapped_column(Text, nullable=True)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    verified_at = mapped_column(UTCDateTime, nullable=True)
    # Real-name complaints only; overdue is computed from it, never stored.
    feedback_due: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    feedback_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    feedback_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    feedback_at = mapped_column(UTCDateTime, nullable=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    category = relationship(ComplaintCategory)
    premises = relationship("Premises")
    cell = relationship("GridCell")
    task = relationship("Task")
    complainant = relationship("Complainant", uselist=False, back_populates="complaint")


class Complainant(db.Model):
    """The personal data of a real-name complainant (个人信息): office roles only, never pulled."""

    __tablename__ = "complainants"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(18), nullable=True)

    complaint = relationship(Complaint, back_populates="complainant")
