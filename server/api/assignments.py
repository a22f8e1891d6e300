"""Cell assignments: who is responsible for which cell (定格、定员、定责)."""

from flask_smorest import Blueprint

from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.schemas.assignments import AssignmentQuery, AssignmentSchema
from server.services.paging import page
from server.services.assignments import (
    assignments_query,
    create_assignment,
    end_assignment,
    get_assignment,
)

blp = Blueprint("assignments", __name__, description="Staff on cells (定员、定责)")


@blp.get("/")
@blp.arguments(AssignmentQuery, location="query")
@blp.response(200, AssignmentSchema(many=True))
def list_assignments(args):
    """List assignments on cells in your scope (in force today unless include_ended)."""
    query = assignments_query(current_user(), user_id=args.get("user_id"),
                              cell_id=args.get("cell_id"), include_ended=args["include_ended"])
    return page(db.session, query, limit=args["limit"], offset=args["offset"],
                cursor=args.get("cursor"))


@blp.post("/")
@blp.arguments(AssignmentSchema)
@blp.response(201, AssignmentSchema)
def post_assignment(data):
    """Put a user on a cell in your scope (admin, supervisor)."""
    actor = current_user("supervisor")
    with transaction():
        return create_assignment(db.session, actor, **data)


@blp.get("/<int(max=2147483647):assignment_id>")
@blp.response(200, AssignmentSchema)
def get_one(assignment_id):
    """Return one assignment in your scope."""
    return get_assignment(db.session, current_user(), assignment_id)


@blp.post("/<int(max=2147483647):assignment_id>/end")
@blp.response(200, AssignmentSchema)
def end(assignment_id):
    """End an assignment today; it stays on record (admin, supervisor)."""
    actor = current_user("supervisor")
    with transaction():
        return end_assignment(db.session, actor, assignment_id)
