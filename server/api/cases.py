"""Cases (案件): open from an escalated order, a verified complaint or an inspection; stages,
transfers, closing. Under /api/v1/followups/cases; scoped like orders (the premises' cell)."""

from flask import current_app
from flask_smorest import Blueprint

from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.schemas.cases import AdvanceIn, CaseIn, CaseQuery, CaseSchema, CloseIn, TransferIn
from server.services.followups import cases as service

blp = Blueprint("cases", __name__, url_prefix="/api/v1/followups/cases",
                description="Cases (案件): stages with time limits, transfers (行刑衔接)")
ID = "<int(max=2147483647):case_id>"


@blp.post("/")
@blp.arguments(CaseIn)
@blp.response(201, CaseSchema)
@blp.alt_response(200, schema=CaseSchema, description="The same case was already opened")
@blp.alt_response(409, description="case_exists: the source has an open case (details.case); "
                                   "uuid_conflict")
def open_case(data):
    """Open a case (officer, supervisor, admin) from a source in your scope.

    source.kind order (escalated), complaint (verified, about a premises) or inspection
    (concluded other than compliant). The number comes from the office's case counter.
    """
    actor = current_user()
    data["client_uuid"] = str(data["client_uuid"])
    with transaction():
        case, outcome = service.open_case(
            db.session, actor, data,
            numbering=service.CaseNumbering.from_config(current_app.config))
    return case, 201 if outcome == "created" else 200


@blp.get("/")
@blp.arguments(CaseQuery, location="query")
@blp.response(200, CaseSchema(many=True))
def list_cases(args):
    """List the cases on premises in your scope; filter by state, stage, premises, overdue."""
    return service.list_cases(db.session, current_user(), **args)


@blp.get(f"/{ID}")
@blp.response(200, CaseSchema)
def get_one(case_id):
    """Return one case with its stages, transfers and source."""
    return service.get_case(db.session, current_user(), case_id)


@blp.post(f"/{ID}/stages")
@blp.arguments(AdvanceIn)
@blp.response(200, CaseSchema)
@blp.alt_response(409, description="illegal_stage: details name the stage and the moves allowed")
def advance(data, case_id):
    """Move the case into the next stage (server/followups/case_stages.json), completing the
    current one; leaving 决定 takes the decision summary."""
    actor = current_user()
    with transaction():
        return service.advance(db.session, actor, case_id, data)


@blp.post(f"/{ID}/transfers")
@blp.arguments(TransferIn)
@blp.response(200, CaseSchema)
def transfer(data, case_id):
    """Transfer an open case to the police or another authority (supervisor, admin)."""
    actor = current_user()
    with transaction():
        return service.transfer(db.session, actor, case_id, data)


@blp.post(f"/{ID}/close")
@blp.arguments(CloseIn)
@blp.response(200, CaseSchema)
def close(data, case_id):
    """Close the case at its last stage, or a transferred case at any (supervisor, admin)."""
    actor = current_user()
    with transaction():
        return service.close(db.session, actor, case_id, data)
