"""ORM models; importing this package registers every table on the metadata."""

from server.models.audit import AuditChainHead, AuditEvent
from server.models.cases import Case, CaseStage, CaseTransfer
from server.models.checklists import ChecklistItem, ChecklistTemplate
from server.models.followups import (
    Document,
    DocumentCounter,
    Notification,
    OrderMove,
    OrderMovePhoto,
    RectificationOrder,
    WorkingCalendar,
)
from server.models.complaints import Complainant, Complaint, ComplaintCategory
from server.models.grid import CellAssignment, GridCell, GridMap
from server.models.jobs import Job
from server.models.inspections import (
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
)
from server.models.penalties import Penalty, PracticePoint, PremisesMeasure
from server.models.photos import Photo, PhotoHolder
from server.models.premises import Premises, PremisesCategory
from server.models.sync import (
    ChangeEvent,
    ChangeFeedHead,
    Device,
    FeedPrune,
    PushedRecord,
    RejectedRecord,
    ScopeSnapshot,
)
from server.models.tasks import Task
from server.models.user import ApiToken, LoginThrottle, User
from server.models.web_sessions import WebSession

__all__ = [
    "ApiToken", "AuditChainHead", "AuditEvent", "CellAssignment", "ChangeEvent", "ChangeFeedHead",
    "ChecklistItem", "ChecklistTemplate", "GridCell", "GridMap", "Inspection",
    "InspectionItemResult", "Device", "FeedPrune", "InspectionPhoto", "LoginThrottle", "Photo",
    "PhotoHolder",
    "Premises", "PremisesCategory",
    "PushedRecord", "RejectedRecord", "ScopeSnapshot", "Task", "User",
    "WebSession",
    "Document", "DocumentCounter", "Notification", "OrderMove", "OrderMovePhoto",
    "RectificationOrder",
    "WorkingCalendar",
    "Complainant", "Complaint", "ComplaintCategory",
    "Case", "CaseStage", "CaseTransfer",
    "Penalty", "PracticePoint", "PremisesMeasure",
    "Job",
]
