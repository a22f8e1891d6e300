"""Background jobs: a table-backed queue that `flask jobs work` (or the dev app's thread) runs."""

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models._types import UTCDateTime, utcnow

JOB_STATES = {"queued": ("排队中", "Queued"), "running": ("运行中", "Running"),
              "done": ("已完成", "Done"), "failed": ("失败", "Failed")}
JOB_KINDS = {"premises_import": ("监管对象导入", "Premises import"),
             "rederive_cells": ("重新归属网格", "Re-derive premises cells")}


class Job(db.Model):
    """One unit of background work; a worker holds it by a lease it renews while it runs.

    A running job whose lease expired (its worker died) is taken again, or failed once it
    has used its attempts.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    # The uploaded file of an import; dropped when the job ends.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True,
                                                      index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at = mapped_column(UTCDateTime, nullable=True)
    finished_at = mapped_column(UTCDateTime, nullable=True)
