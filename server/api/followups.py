"""Follow-ups (整改复查): rectification orders (责令改正) and their moves."""

from flask import Response, current_app, request, url_for
from flask_smorest import Blueprint

from server.authentication import current_device, current_user
from server.db import transaction
from server.extensions import db
from server.schemas.followups import (
    DocumentQuery,
    DocumentSchema,
    MoveIn,
    NotificationQuery,
    NotificationSchema,
    OrderIn,
    OrderQuery,
    OrderSchema,
    OverdueItem,
    OverdueQuery,
    RecheckSchema,
)
from server.services.followups import documents
from server.services.followups import notifications as notifications_service
from server.services.followups import overdue as overdue_service
from server.services.followups import rechecks
from server.services.followups import orders as service
from server.services.followups.document_pdf import render
from server.services.followups.cases import CaseNumbering
from server.services.followups.deadlines import load_rules

blp = Blueprint("followups", __name__, description="Follow-ups: rectification orders (责令改正)")


def deadline_rules():
    """Return the deadline rules the office configured (FOLLOWUPS_DEADLINE_RULES)."""
    return load_rules(current_app.config["FOLLOWUPS_DEADLINE_RULES"])


@blp.post("/orders/")
@blp.arguments(OrderIn)
@blp.response(201, OrderSchema)
@blp.alt_response(200, schema=OrderSchema, description="The same order was already issued")
@blp.alt_response(409, description="The client UUID was used for other content")
def issue(data):
    """Issue an order from an inspection's non-compliant items (officer, supervisor, admin).

    Without a deadline it comes from the deadline rules and the working-day calendar; a
    rectification_recheck task is scheduled for it. The same UUID and content answers 200.
    """
    actor = current_user()
    device = current_device()
    data["client_uuid"] = str(data["client_uuid"])
    with transaction():
        order, outcome = service.issue_order(db.session, actor, data, rules=deadline_rules(),
                                             device_id=device.device_uid if device else None)
    return order, 201 if outcome == "created" else 200


@blp.get("/orders/")
@blp.arguments(OrderQuery, location="query")
@blp.response(200, OrderSchema(many=True))
def list_orders(args):
    """List the orders on premises in your scope; filter by state or premises."""
    return service.list_orders(db.session, current_user(), **args)


@blp.get("/orders/<int(max=2147483647):order_id>")
@blp.response(200, OrderSchema)
def get_one(order_id):
    """Return one order with its moves."""
    return service.get_order(db.session, current_user(), order_id)


@blp.post("/orders/<int(max=2147483647):order_id>/moves")
@blp.arguments(MoveIn)
@blp.response(200, OrderSchema)
@blp.alt_response(409, description="illegal_move: details name the state and the moves allowed")
def move(data, order_id):
    """Move an order by the transitions table (server/followups/order_transitions.json)."""
    actor = current_user()
    with transaction():
        return service.move_order(db.session, actor, order_id, data, rules=deadline_rules(),
                                  case_numbering=case_numbering())


def case_numbering():
    """Return how case numbers are made (DOCUMENT_OFFICE_CODE, CASE_NUMBER_PREFIX)."""
    return CaseNumbering.from_config(current_app.config)


def office():
    """Return the issuing office as configured (DOCUMENT_OFFICE_*)."""
    return documents.Office.from_config(current_app.config)


@blp.post("/orders/<int(max=2147483647):order_id>/document")
@blp.response(201, DocumentSchema)
@blp.alt_response(200, schema=DocumentSchema, description="The order's document was already issued")
def issue_document(order_id):
    """Issue the order's document (卫生监督意见书) with the office's next number, once."""
    actor = current_user()
    with transaction():
        document, outcome = documents.issue_order_document(db.session, actor, order_id,
                                                           office=office())
    return document, 201 if outcome == "created" else 200


@blp.get("/orders/<int(max=2147483647):order_id>/recheck")
@blp.response(200, RecheckSchema)
def recheck(order_id):
    """Return the order's findings side by side: as issued (before) and as rechecked (after).

    A recheck is an inspection of kind recheck naming the order's rectification_recheck
    task (POST /api/v1/inspections/ or a pushed `inspection`); `after` is null until then.
    """
    return rechecks.recheck_view(db.session, current_user(), order_id)


@blp.post("/orders/<int(max=2147483647):order_id>/recheck/document")
@blp.response(201, DocumentSchema)
@blp.alt_response(200, schema=DocumentSchema, description="The recheck result was already issued")
@blp.alt_response(409, description="recheck_not_done: the order has no recheck outcome yet")
def issue_recheck_document(order_id):
    """Issue the order's recheck result (整改复查意见书) once it passed or failed, once."""
    actor = current_user()
    with transaction():
        document, outcome = documents.issue_recheck_document(db.session, actor, order_id,
                                                             office=office())
    return document, 201 if outcome == "created" else 200


@blp.get("/documents/<int(max=2147483647):document_id>.pdf")
@blp.arguments(DocumentQuery, location="query")
@blp.response(200, description="The PDF (layout a4, or 80mm for portable printers)")
def document_pdf(args, document_id):
    """Return a document as a PDF with the QR code of its verification page."""
    document = documents.get_document(db.session, current_user(), document_id)
    base = current_app.config["DOCUMENT_VERIFY_BASE_URL"].rstrip("/")
    path = url_for("web.verify_document", token=document.verification_token)
    verify_url = f"{base}{path}" if base else request.url_root.rstrip("/") + path
    content = documents.pdf_content(db.session, document, office=office(), verify_url=verify_url)
    data = render(content, layout=args["layout"], font_path=current_app.config["DOCUMENT_FONT"])
    return Response(data, mimetype="application/pdf", headers={
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="document-{document.id}-{args["layout"]}.pdf"'})


@blp.get("/overdue")
@blp.arguments(OverdueQuery, location="query")
@blp.response(200, OverdueItem(many=True))
def overdue(args):
    """List what is past due in your scope: orders, tasks, complaint feedback (most overdue first).

    Computed from the due dates today, never stored. min_days (default 1): at least that many
    days past due; cell_id: that cell and the cells below it (within your scope).
    """
    return overdue_service.list_overdue(db.session, current_user(), **args)


@blp.get("/notifications")
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationSchema(many=True))
def notifications(args):
    """List your own reminders and escalations, newest first (raised by `flask followups sweep`)."""
    return notifications_service.list_notifications(db.session, current_user(), **args)


@blp.post("/notifications/<int(max=2147483647):notification_id>/read")
@blp.response(200, NotificationSchema)
def read_notification(notification_id):
    """Mark one of your notifications read; another user's answers 404."""
    actor = current_user()
    with transaction():
        return notifications_service.mark_read(db.session, actor, notification_id)
