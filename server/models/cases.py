"""Cases (案件): stages with time limits, the decision, and transfer to the police or another body.

The stages and their limits are data: server/followups/case_stages.json.
"""

from datetime import date

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Text, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow
from server.models.complaints import Complaint
from server.models.followups import RectificationOrder

CASE_STATES = {
    "open": ("办理中", "Open"),
    "transferred": ("已移送", "Transferred"),
    "closed": ("已结案", "Closed"),
}
CASE_SOURCES = {
    "order": ("整改逾期移交", "Escalated rectification order"),
    "complaint": ("投诉举报", "Complaint"),
    "inspection": ("监督检查", "Inspection"),
}
TRANSFER_KINDS = {
    "police": ("公安机关", "Police (public security organ)"),
    "other_authority": ("其他有权机关", "Another competent authority"),
}

case_handlers = db.Table(
    "case_handlers", db.metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class Case(db.Model):
    """A case opened from an escalated order, a verified complaint or an inspection.

    Numbered per office and year without gaps (the documents' counter). One open or
    transferred case per source; a closed one does not stop another.
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(64), unique=True)
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    # The premises' cell when opened; visibility follows the premises' current cell.
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), nullable=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_on: Mapped[date] = mapped_column(Date)
    # The day the first stage (立案) was completed: limits "from filed" count from it.
    filed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Free text until penalties link here (penalty.case_id).
    decision_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    premises = relationship("Premises")
    handlers = relationship("User", secondary=case_handlers, order_by="User.id")
    stages = relationship("CaseStage", order_by="CaseStage.id", back_populates="case")
    transfers = relationship("CaseTransfer", order_by="CaseTransfer.id")
    penalties = relationship("Penalty", order_by="Penalty.id", viewonly=True)


class CaseStage(db.Model):
    """One stage a case went through: entered, due, completed, by whom."""

    __tablename__ = "case_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(24))
    entered_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # What completing it recorded (the decision summary of 决定).
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    case = relationship(Case, back_populates="stages")


class CaseTransfer(db.Model):
    """A case handed to the police (涉嫌犯罪, 行刑衔接) or to another competent authority."""

    __tablename__ = "case_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    transferred_on: Mapped[date] = mapped_column(Date)
    receiving_body: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


# One open (or transferred) case per source; the opening checks it under the number's lock.
Index("uq_cases_open_source", Case.source_kind, Case.source_id, unique=True,
      sqlite_where=Case.state != "closed", postgresql_where=Case.state != "closed")
# The overdue list and the sweep read the current stages by due day.
Index("ix_case_stages_open_due", CaseStage.completed_on, CaseStage.due_on)

# What a complaint opened: its orders (complaint_id) and its cases (source).
Complaint.orders = relationship(RectificationOrder, viewonly=True, order_by=RectificationOrder.id,
                                primaryjoin=Complaint.id == foreign(RectificationOrder.complaint_id))
Complaint.cases = relationship(Case, viewonly=True, order_by=Case.id, primaryjoin=and_(
    Complaint.id == foreign(Case.source_id), Case.source_kind == "complaint"))
