"""Inspection records and their photos: the legal record of a visit (执法全过程记录)."""

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models._types import UTCDateTime, utcnow

INSPECTION_KINDS = {"patrol": ("协管巡查", "Coordinator patrol"),
                    "enforcement": ("执法检查", "Enforcement check"),
                    # Limited to an order's findings; its outcome moves the order
                    # (services/followups/rechecks.py).
                    "recheck": ("整改复查", "Rectification recheck")}
ITEM_RESULTS = {"compliant": ("符合", "Compliant"), "non_compliant": ("不符合", "Non-compliant"),
                "not_applicable": ("不适用", "Not applicable")}
CONCLUSIONS = {"compliant": ("未发现问题", "No problems found"),
               "rectification_required": ("责令整改", "Rectification required"),
               "case_referred": ("移交立案", "Referred for a case")}

inspection_inspectors = Table(
    "inspection_inspectors", db.metadata,
    Column("inspection_id", ForeignKey("inspections.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class Inspection(db.Model):
    """An immutable submitted inspection; a correction is a new revision linked to it."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True, nullable=True)
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cells.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device_time = mapped_column(UTCDateTime, nullable=False)
    server_time = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    gps_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    gps_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    gps_accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    findings: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str] = mapped_column(String(32))
    revision_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id"), unique=True, nullable=True)
    revision_reason: Mapped[str] = mapped_column(Text, default="")
    # The rectification order this inspection rechecked (kind "recheck"); its revisions keep it.
    recheck_of_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("rectification_orders.id", name="fk_inspections_recheck_of_order_id",
                   use_alter=True),  # orders name their issuing inspection: a cycle
        index=True, nullable=True)
    # On-site evidence checks that disagree: flagged for supervisors, never a rejection.
    evidence_flags: Mapped[list] = mapped_column(JSON, default=list)
    # Kept beside the flags so supervisors' "flagged" list is an indexed query.
    has_flags: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    items = relationship("InspectionItemResult", order_by="InspectionItemResult.id")
    photos = relationship("InspectionPhoto", order_by="InspectionPhoto.id")
    inspectors = relationship("User", secondary=inspection_inspectors, order_by="User.id")
    premises = relationship("Premises")
    template = relationship("ChecklistTemplate")
    revision_of = relationship("Inspection", remote_side=[id])


class InspectionItemResult(db.Model):
    __tablename__ = "inspection_item_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class InspectionPhoto(db.Model):
    """A photo named by an inspection (by hash); it may arrive after the record."""

    __tablename__ = "inspection_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    item_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
