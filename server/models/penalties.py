"""Administrative penalties (行政处罚), bad-practice points (不良执业行为记分) and the measures
they trigger on a premises (约谈, 暂缓校验, 重点监管名单建议)."""

from datetime import date

from sqlalchemy import (
    JSON,
    BigInteger,
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

# amount: "required" (> 0), "refused", or "optional" (a fine in the same decision).
PENALTY_TYPES = {
    "warning": ("警告", "Warning"),
    "fine": ("罚款", "Fine"),
    "confiscation": ("没收违法所得", "Confiscation of illegal gains"),
    "suspension": ("责令停产停业", "Suspension of business"),
    "licence_revocation": ("吊销许可证", "Licence revocation"),
}
PENALTY_AMOUNTS = {"warning": "refused", "fine": "required", "confiscation": "required",
                   "suspension": "optional", "licence_revocation": "optional"}
PUBLICATION_STATES = {"pending": ("待公示", "Pending"), "published": ("已公示", "Published")}
POINT_SOURCES = {"penalty": ("行政处罚", "Penalty"), "order": ("责令改正", "Rectification order")}
MEASURE_KINDS = {
    "interview_warning": ("约谈", "Interview warning"),
    "deferred_validation": ("暂缓校验", "Deferred licence validation"),
    "key_supervision_proposal": ("建议列入重点监管名单", "Key-supervision list proposal"),
}
MEASURE_STATES = {"open": ("待办", "Open"), "done": ("已完成", "Done")}
MEASURE_SOURCES = {"points": ("记分达到阈值", "Points threshold"),
                   "repeated_failure": ("多次复查不合格", "Repeated recheck failure")}


class Penalty(db.Model):
    """A penalty decision (行政处罚决定) on a premises, with its recheck and its publication.

    amount_fen: the amount in fen (1/100 yuan), an integer: no float ever holds money.
    case_id: the case (案件) it ends, if it came from one (the case lists its penalties).
    """

    __tablename__ = "penalties"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    decision_number: Mapped[str] = mapped_column(String(64), unique=True)
    decided_on: Mapped[date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(24))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    legal_basis: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text, default="")
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    # The premises' cell when recorded; visibility follows the premises' current cell.
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), nullable=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), nullable=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    recheck_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True,
                                                        index=True)
    recheck_due: Mapped[date] = mapped_column(Date)
    recheck_inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"),
                                                              nullable=True)
    publication_due: Mapped[date] = mapped_column(Date)
    publication_state: Mapped[str] = mapped_column(String(16), default="pending")
    published_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    published_where: Mapped[str | None] = mapped_column(Text, nullable=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    premises = relationship("Premises")
    recheck_task = relationship("Task")


class PracticePoint(db.Model):
    """Points accrued by a premises from one source (a penalty or an order), once per source."""

    __tablename__ = "practice_points"
    __table_args__ = (UniqueConstraint("source_kind", "source_id", name="uq_practice_points_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), nullable=True)
    points: Mapped[int] = mapped_column(Integer)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    # Which rule gave them, e.g. "penalty:fine" or "finding:key×1+major×1"; and its version.
    rule: Mapped[str] = mapped_column(String(200))
    rules_version: Mapped[int] = mapped_column(Integer)
    accrued_on: Mapped[date] = mapped_column(Date)
    # The first day of the points cycle accrued_on falls in.
    cycle_start: Mapped[date] = mapped_column(Date)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class PremisesMeasure(db.Model):
    """A measure opened on a premises by the points or by repeated failure, once per period.

    Open measures are the premises' raised attention (read by the risk work that follows).
    period: "points:<cycle start>" or "failures:<first counted move id>".
    """

    __tablename__ = "premises_measures"
    __table_args__ = (UniqueConstraint("premises_id", "kind", "period",
                                       name="uq_premises_measures_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(24))
    period: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    # What triggered it: the points total and threshold, or the failed orders.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    opened_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    held_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    premises = relationship("Premises")


# The overdue list and the sweep read pending publications by due date (overdue.py SOURCES).
Index("ix_penalties_publication_open", Penalty.publication_state, Penalty.publication_due)
