"""Users, their API tokens and login throttling."""

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow

ROLES = ("admin", "supervisor", "officer", "coordinator")
ROLE_LABELS = {
    "admin": ("系统管理员", "Administrator"),
    "supervisor": ("监管负责人", "Supervisor"),
    "officer": ("卫生监督员", "Enforcement officer"),
    "coordinator": ("卫生监督协管员", "Grid coordinator"),
}


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    assignments = relationship("CellAssignment", back_populates="user", foreign_keys="CellAssignment.user_id")

    @property
    def is_admin(self):
        return self.role == "admin"


class ApiToken(db.Model):
    """An opaque bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    last_used_at = mapped_column(UTCDateTime, nullable=True)

    user = relationship(User)


class LoginThrottle(db.Model):
    """Failed sign-ins per key (a username or a client address), kept in the database.

    Kept for any name tried, known or not, so lockout itself reveals nothing.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at = mapped_column(UTCDateTime, nullable=False)
    locked_until = mapped_column(UTCDateTime, nullable=True)
