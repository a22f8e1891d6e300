"""Complaints and reports (投诉举报): intake, routing, verification, feedback.

Under /api/v1/followups/complaints. The office roles (admin, supervisor) get the office shape
with the complainant; field staff get the field shape, without the complainant or feedback.
"""

from flask import current_app, jsonify
from flask_smorest import Blueprint
from sqlalchemy import select

from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.models import ComplaintCategory
from server.schemas.common import PageArgs
from server.schemas.complaints import (
    ComplaintCategorySchema,
    ComplaintCreate,
    ComplaintFeedback,
    ComplaintFieldSchema,
    ComplaintOfficeSchema,
    ComplaintQuery,
    ComplaintRoute,
    ComplaintVerify,
)
from server.services.followups import complaints as service

blp = Blueprint("complaints", __name__, url_prefix="/api/v1/followups/complaints",
                description="Complaints and reports (投诉举报)")

SHAPE_NOTE = ("Admins and supervisors get this shape; officers and coordinators get the field "
              "shape: no `complainant`, no feedback fields.")
ID = "<int(max=2147483647):complaint_id>"


def _answer(actor, complaints, status=200):
    """Serialise in the shape the actor's role may see (a list, or one complaint)."""
    schema = ComplaintOfficeSchema() if service.sees_complainant(actor) else ComplaintFieldSchema()
    many = isinstance(complaints, list)
    response = jsonify(schema.dump(complaints, many=many))
    response.status_code = status
    return response


def _feedback_days():
    return current_app.config["COMPLAINT_FEEDBACK_DAYS"]


@blp.get("/categories")
@blp.response(200, ComplaintCategorySchema(many=True))
def categories():
    """List the complaint categories with Chinese and English labels."""
    current_user()
    return db.session.scalars(select(ComplaintCategory).where(ComplaintCategory.active)
                              .order_by(ComplaintCategory.sort_order)).all()


@blp.get("/")
@blp.arguments(ComplaintQuery, location="query")
@blp.response(200, ComplaintOfficeSchema(many=True), description=SHAPE_NOTE)
def list_complaints(args):
    """List the complaints of your cells (field staff: those you verify), with filters."""
    actor = current_user()
    return _answer(actor, list(service.list_complaints(db.session, actor, **args)))


@blp.get("/unrouted")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ComplaintOfficeSchema(many=True))
def unrouted(args):
    """List the complaints in no cell (admins, supervisors of the whole grid)."""
    actor = current_user("supervisor")
    return _answer(actor, list(service.list_unrouted(db.session, actor, **args)))


@blp.post("/")
@blp.arguments(ComplaintCreate)
@blp.response(201, ComplaintOfficeSchema)
def intake(data):
    """Take a complaint (admin, supervisor); it is routed by premises, else by location."""
    actor = current_user("supervisor")
    with transaction():
        complaint = service.intake(db.session, actor, data, feedback_days=_feedback_days())
        return _answer(actor, complaint, 201)


@blp.get(f"/{ID}")
@blp.response(200, ComplaintOfficeSchema, description=SHAPE_NOTE)
def get_one(complaint_id):
    """Return one complaint you may see."""
    actor = current_user()
    return _answer(actor, service.get_complaint(db.session, actor, complaint_id))


@blp.post(f"/{ID}/route")
@blp.arguments(ComplaintRoute)
@blp.response(200, ComplaintOfficeSchema)
def route(data, complaint_id):
    """Route a complaint without a task to a premises (opens the task) or a cell (admin, supervisor)."""
    actor = current_user("supervisor")
    with transaction():
        complaint = service.route(db.session, actor, complaint_id, **data,
                                  feedback_days=_feedback_days())
        return _answer(actor, complaint)


@blp.post(f"/{ID}/verify")
@blp.arguments(ComplaintVerify)
@blp.response(200, ComplaintOfficeSchema, description=SHAPE_NOTE)
def verify(data, complaint_id):
    """Record the verification's outcome (the task's assignees, supervisors of the cell)."""
    actor = current_user()
    with transaction():
        return _answer(actor, service.verify(db.session, actor, complaint_id, **data))


@blp.post(f"/{ID}/feedback")
@blp.arguments(ComplaintFeedback)
@blp.response(200, ComplaintOfficeSchema)
def feedback(data, complaint_id):
    """Record the answer given to the real-name complainant, once (admin, supervisor)."""
    actor = current_user("supervisor")
    with transaction():
        return _answer(actor, service.give_feedback(db.session, actor, complaint_id, **data))
