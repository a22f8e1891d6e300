"""Follow-ups: rectification orders (责令改正) with their moves, and working-day calendars."""

from datetime import date

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow
from server.models.complaints import Complaint
from server.models.tasks import Task

# The moves between them are data: server/followups/order_transitions.json.
ORDER_STATES = {
    "issued": ("已下达", "Issued"),
    "reported_rectified": ("已报告整改", "Reported rectified"),
    "recheck_due": ("待复查", "Recheck due"),
    "passed": ("复查合格", "Passed"),
    "failed": ("复查不合格", "Failed"),
    "reissued": ("已重新责令改正", "Reissued"),
    "escalated": ("已移交立案", "Escalated"),
}
DEADLINE_SOURCES = {"rules": ("按规则", "From the rules"), "explicit": ("指定", "Set explicitly")}


class RectificationOrder(db.Model):
    """An order to fix what an inspection found by a deadline; its state moves by the table."""

    __tablename__ = "rectification_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    # The premises' cell when the order was issued; visibility follows the premises' current cell.
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), index=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    # The verified complaint this order answers, if any (same premises).
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True,
                                                     nullable=True)
    # [{"item_code", "text", "legal_basis", "severity", "note"}] as they stood at issue.
    findings: Mapped[list] = mapped_column(JSON, default=list)
    measures: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    deadline_source: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24), default="issued", index=True)
    reissue_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("rectification_orders.id"), unique=True, nullable=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    premises = relationship("Premises")
    # Rechecks name their order too (Inspection.recheck_of_order_id): this is the issuing one.
    inspection = relationship("Inspection", foreign_keys=[inspection_id])
    task = relationship("Task")
    reissue_of = relationship("RectificationOrder", remote_side=[id])
    moves = relationship("OrderMove", order_by="OrderMove.id")

    @property
    def findings_with_photos(self):
        """The findings, each with the hashes of the issuing inspection's photos of its item."""
        photos = {}
        for photo in self.inspection.photos:
            photos.setdefault(photo.item_code, []).append(photo.sha256)
        return [{**finding, "photos": photos.get(finding["item_code"], [])}
                for finding in self.findings]


class OrderMove(db.Model):
    """One move of an order: who, when, from which state to which, and what came with it."""

    __tablename__ = "rectification_order_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("rectification_orders.id"), index=True)
    move: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    note: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list] = mapped_column(JSON, default=list)
    # Move-specific facts: the new order of a reissue, the reason of an escalation.
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class OrderMovePhoto(db.Model):
    """A photo a move names (OrderMove.photos), by hash: who may see the order may see it."""

    __tablename__ = "order_move_photos"
    __table_args__ = (UniqueConstraint("move_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    move_id: Mapped[int] = mapped_column(ForeignKey("rectification_order_moves.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)


class WorkingCalendar(db.Model):
    """One year's holidays and adjusted working days, as loaded from its file."""

    __tablename__ = "working_calendars"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text)
    # The document as loaded (holidays as ranges with names, workdays with names).
    document: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


# What a document can be about; recheck results and penalty decisions join here.
DOCUMENT_KINDS = {
    "rectification_order": ("卫生监督意见书", "Health supervision opinion (rectification order)"),
    "penalty_decision": ("行政处罚决定书", "Administrative penalty decision"),
    "recheck_result": ("整改复查意见书", "Rectification recheck result"),
}
DOCUMENT_LAYOUTS = ("a4", "80mm")


class Document(db.Model):
    """A numbered document (文书) handed over on site, e.g. an order's 卫生监督意见书.

    One per subject and kind; the number is taken from DocumentCounter in the issuing transaction.
    """

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("office_code", "year", "prefix", "serial"),
                      UniqueConstraint("kind", "subject_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    office_code: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(32))
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64))
    issued_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    verification_token: Mapped[str] = mapped_column(String(64), unique=True)
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), nullable=True)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    premises = relationship("Premises")


class DocumentCounter(db.Model):
    """The last serial given per office, year and number prefix; locked while a number is taken."""

    __tablename__ = "document_counters"

    office_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)


NOTIFICATION_KINDS = {"reminder": ("到期提醒", "Reminder"), "escalation": ("逾期督办", "Escalation")}


class Notification(db.Model):
    """A reminder before a due date or an escalation after it, raised once to one user.

    Unique per (user, subject, kind, level): the sweep inserts ON CONFLICT DO NOTHING, so a
    second sweep raises nothing. Overdue itself is never stored: it is computed from due dates.
    """

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "subject_kind", "subject_id", "kind", "level",
                                       name="uq_notifications_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    # Reminders: "before_N" (N days before due); escalations: the grid level told.
    level: Mapped[str] = mapped_column(String(32))
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), nullable=True)
    premises_id: Mapped[int | None] = mapped_column(ForeignKey("premises.id"), nullable=True)
    raised_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    read_at = mapped_column(UTCDateTime, nullable=True)


# The overdue list and the sweep read the open items of each kind by due date
# (services/followups/overdue.py SOURCES): open-ness first, then the date range, so what they
# read follows the items due, not the closed history behind them.
Index("ix_rectification_orders_state_deadline", RectificationOrder.state,
      RectificationOrder.deadline)
Index("ix_tasks_status_due_date", Task.status, Task.due_date)
Index("ix_complaints_feedback_open", Complaint.feedback_at, Complaint.feedback_due)
