"""Inspection records (检查记录): submit once per client UUID, read, correct by revision."""

from flask import current_app
from flask_smorest import Blueprint
from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.schemas.inspections import (
    CorrectionIn,
    InspectionIn,
    InspectionOut,
    InspectionQuery,
    SubmitResult,
)
from server.services import inspections as service
from server.services.evidence import EvidenceLimits

blp = Blueprint("inspections", __name__, description="Inspection records (检查记录)")


def _answer(inspection, outcome):
    missing = service.missing_photos(db.session, inspection)
    return {"status": outcome, "inspection": inspection, "photos_missing": missing,
            "complete": not missing}


@blp.post("/")
@blp.arguments(InspectionIn)
@blp.response(201, SubmitResult)
@blp.alt_response(200, schema=SubmitResult, description="The same record was already submitted")
@blp.alt_response(409, description="The client UUID was used for other content")
def submit(data):
    """Submit an inspection; resubmitting the same UUID and content answers 200 "duplicate"."""
    actor = current_user()
    data["client_uuid"] = str(data["client_uuid"])
    with transaction():
        inspection, outcome = service.submit_inspection(
            db.session, actor, data, limits=EvidenceLimits.from_config(current_app.config))
        answer = _answer(inspection, outcome)
    return answer, 201 if outcome == "created" else 200


@blp.get("/")
@blp.arguments(InspectionQuery, location="query")
@blp.response(200, InspectionOut(many=True))
def list_inspections(args):
    """List inspections on premises in your scope; flagged=true keeps those with evidence flags."""
    return service.list_inspections(db.session, current_user(), **args)


@blp.get("/<int(max=2147483647):inspection_id>")
@blp.response(200, SubmitResult)
def get_one(inspection_id):
    """Return an inspection with the photos still missing."""
    inspection = service.get_inspection(db.session, current_user(), inspection_id)
    return _answer(inspection, "stored")


@blp.post("/<int(max=2147483647):inspection_id>/revisions")
@blp.arguments(CorrectionIn)
@blp.response(201, SubmitResult)
def correct(data, inspection_id):
    """Correct an inspection: a new revision linked to it, with the reason; both stay readable."""
    actor = current_user()
    data["client_uuid"] = str(data["client_uuid"])
    reason = data.pop("reason")
    with transaction():
        inspection, outcome = service.correct_inspection(
            db.session, actor, inspection_id, data, reason=reason,
            limits=EvidenceLimits.from_config(current_app.config))
        answer = _answer(inspection, outcome)
    return answer, 201 if outcome == "created" else 200

