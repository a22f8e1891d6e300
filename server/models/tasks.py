"""Tasks: what someone must inspect, where, by when, and why."""

from datetime import date

from sqlalchemy import Column, Date, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow

TASK_KINDS = {
    "routine_patrol": ("日常巡查", "Routine patrol"),
    "special_supervision": ("专项监督", "Special supervision"),
    "campaign": ("专项整治", "Campaign"),
    "random_check": ("双随机抽查", "Random check"),
    "rectification_recheck": ("整改复查", "Rectification recheck"),
    "post_penalty_recheck": ("处罚后复查", "Post-penalty recheck"),
    "complaint_verification": ("投诉核查", "Complaint verification"),
}
TASK_STATUSES = {"open": ("待办", "Open"), "done": ("已完成", "Done"),
                 "cancelled": ("已取消", "Cancelled")}

task_assignees = Table(
    "task_assignees", db.metadata,
    Column("task_id", ForeignKey("tasks.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class Task(db.Model):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    origin: Mapped[str] = mapped_column(String(64), default="manual")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    premises = relationship("Premises")
    cell = relationship("GridCell")
    assignees = relationship("User", secondary=task_assignees, order_by="User.id")
