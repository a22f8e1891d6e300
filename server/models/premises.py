"""The premises directory (监管对象名录库) and its categories."""

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow

OWNERSHIPS = {"public": ("公立", "Public"), "private": ("民营", "Private")}
RISK_LEVELS = {"low": ("低风险", "Low"), "medium": ("中风险", "Medium"), "high": ("高风险", "High")}
CREDIT_GRADES = ("A", "B", "C", "D")
LIST_STATUSES = {"none": ("无", "None"), "red": ("红名单", "Red list"),
                 "black": ("黑名单", "Black list"), "key": ("重点监管", "Key supervision")}


class PremisesCategory(db.Model):
    """A kind of supervised premises; a table so offices can add their own."""

    __tablename__ = "premises_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(64))
    label_en: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Premises(db.Model):
    """A supervised premises; its cell follows its location on the active map."""

    __tablename__ = "premises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category_code: Mapped[str] = mapped_column(ForeignKey("premises_categories.code"), index=True)
    ownership: Mapped[str] = mapped_column(String(16))
    licence_no: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True, nullable=True)
    address: Mapped[str] = mapped_column(String(200))
    # WGS84 (EPSG:4326); GCJ-02 input is converted on the way in.
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), index=True, nullable=True)
    risk_level: Mapped[str] = mapped_column(String(16), default="medium")
    credit_grade: Mapped[str | None] = mapped_column(String(1), nullable=True)
    list_status: Mapped[str] = mapped_column(String(16), default="none")
    contact_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on every change; a client editing with a stale version gets a conflict.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    category = relationship(PremisesCategory)
    cell = relationship("GridCell")
