"""Grid maps, their cells and the staff assigned to cells (定格、定员、定责)."""

from datetime import date

from geoalchemy2 import Geometry
from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grid_maps.levels import DEFAULT_LABELS, KNOWN_LEVELS, default_levels
from server.extensions import db
from server.models._types import UTCDateTime, utcnow

MAP_STATUSES = ("draft", "active", "retired")
MAP_STATUS_LABELS = {
    "draft": ("草稿", "Draft"),
    "active": ("启用", "Active"),
    "retired": ("已停用", "Retired"),
}
# Every level code a map may use, top to bottom; a map lists its own (GridMap.levels).
LEVELS = KNOWN_LEVELS
LEVEL_LABELS = DEFAULT_LABELS


def map_level_labels(grid_map):
    """Return {level code: (zh, en)} as a map names its levels, defaults for the rest."""
    return {**LEVEL_LABELS, **{level["code"]: (level["zh"], level["en"])
                               for level in (grid_map.levels or [])}}


class GridMap(db.Model):
    """One version of the grid of a jurisdiction: draft → active → retired."""

    __tablename__ = "grid_maps"
    __table_args__ = (UniqueConstraint("jurisdiction_code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    activated_at = mapped_column(UTCDateTime, nullable=True)
    retired_at = mapped_column(UTCDateTime, nullable=True)
    # The map's levels top to bottom: [{"code", "zh", "en"}], codes from LEVELS (depth ≤ 5).
    levels: Mapped[list] = mapped_column(JSON, default=default_levels, nullable=False)

    cells = relationship("GridCell", back_populates="map", lazy="dynamic")


class GridCell(db.Model):
    """A cell at one of its map's levels; `path` lists the ids from the map's top cell down."""

    __tablename__ = "grid_cells"
    # (map_id, path) serves the scope's path ranges (server/services/scope.py).
    __table_args__ = (UniqueConstraint("map_id", "code"),
                      Index("ix_grid_cells_map_id_path", "map_id", "path"))

    id: Mapped[int] = mapped_column(primary_key=True)
    map_id: Mapped[int] = mapped_column(ForeignKey("grid_maps.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    # Compared bytewise on both databases (SQLite's BINARY is bytewise already).
    path: Mapped[str] = mapped_column(
        String(255).with_variant(String(255, collation="C"), "postgresql"), index=True, default="")
    area_m2: Mapped[float] = mapped_column(default=0.0)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)

    map = relationship(GridMap, back_populates="cells")
    parent = relationship("GridCell", remote_side=[id])


class CellAssignment(db.Model):
    """A named person on a cell with a duty, for a period."""

    __tablename__ = "cell_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cell_id: Mapped[int] = mapped_column(ForeignKey("grid_cells.id"), index=True)
    # Premises categories this person answers for in the cell; empty means all.
    duty: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    # valid_to is the planned last day; ended_at the moment someone ended it, after which it
    # gives no scope (at once, not at midnight).
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    user = relationship("User", back_populates="assignments", foreign_keys=[user_id])
    cell = relationship(GridCell)
