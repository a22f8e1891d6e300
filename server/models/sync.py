"""Terminals, the change feed that pulls read, and records refused on push."""

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow


class Device(db.Model):
    """A handheld terminal bound to one user; its opaque token is stored hashed."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_uid: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    last_seen_at = mapped_column(UTCDateTime, nullable=True)

    user = relationship("User")


class ChangeEvent(db.Model):
    """One change, in a monotonically increasing sequence: what delta pulls read.

    cell_id/old_cell_id say whose scope the change touches; user_id targets one user (scope
    changes, record statuses); neither set means everyone for the kinds that belong to no
    cell (checklists, see changes.BROADCAST_KINDS), admins alone for the rest (orphans).
    """

    __tablename__ = "change_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(8))  # upsert | delete
    cell_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    old_cell_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ChangeFeedHead(db.Model):
    """One row holding the feed's last sequence number; locked while a commit numbers its
    events, so numbers follow commit order (see server/db/commit_order.py)."""

    __tablename__ = "change_feed_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class FeedPrune(db.Model):
    """A pruning of the change feed: cursors before pruned_through_seq must resync."""

    __tablename__ = "feed_prunes"

    id: Mapped[int] = mapped_column(primary_key=True)
    pruned_through_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    events_deleted: Mapped[int] = mapped_column(Integer)
    older_than = mapped_column(UTCDateTime, nullable=False)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class RejectedRecord(db.Model):
    """A pushed record the server refused, kept with its reasons for diagnosis.

    Bounded (server/services/push.py): a large payload is kept as an excerpt with its size and
    digest, each device keeps its newest REJECTED_RECORDS_PER_DEVICE, `flask sync prune`
    deletes the older than REJECTED_RECORDS_RETENTION_DAYS.
    """

    __tablename__ = "rejected_records"
    __table_args__ = (Index("ix_rejected_records_device_id_id", "device_id", "id"),
                      Index("ix_rejected_records_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_uuid: Mapped[str] = mapped_column(String(64), index=True)
    record_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    reasons: Mapped[dict] = mapped_column(JSON)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class PushedRecord(db.Model):
    """A pushed record the server applied: replaying its UUID answers from here."""

    __tablename__ = "pushed_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    record_type: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    server_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ScopeSnapshot(db.Model):
    """The cells a user could see at some moment, named by a digest the terminal keeps.

    When the scope changes, the digest a terminal sends tells what it had, so the server can
    send tombstones for what left the scope and the state of what entered it.
    """

    __tablename__ = "scope_snapshots"
    __table_args__ = (UniqueConstraint("user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    cell_ids: Mapped[list] = mapped_column(JSON)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
