"""The premises directory (监管对象名录库): browse, add, edit, import CSV, orphans."""

from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import select

from server.authentication import current_user
from server.db import transaction
from server.errors import ValidationFailed
from server.extensions import db
from server.models import Premises, PremisesCategory
from server.schemas.common import PageArgs
from server.schemas.premises import (
    CategorySchema,
    ImportQuery,
    ImportResult,
    PremisesCreate,
    PremisesQuery,
    PremisesSchema,
    PremisesUpdate,
    UPDATE_OPTIONAL,
)
from server.schemas.jobs import JobSchema
from server.services import jobs as jobs_service
from server.services import premises as service
from server.services.paging import page

blp = Blueprint("premises", __name__, description="Supervised premises (监管对象); WGS84 lon/lat")

CSV_BODY = {"required": True, "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            "description": "CSV in UTF-8 or GBK/GB18030 with a header row (English or Chinese "
                           "column names)."}


@blp.get("/categories")
@blp.response(200, CategorySchema(many=True))
def categories():
    """List the premises categories with Chinese and English labels."""
    current_user()
    return db.session.scalars(select(PremisesCategory).where(PremisesCategory.active)
                              .order_by(PremisesCategory.sort_order)).all()


@blp.get("/")
@blp.arguments(PremisesQuery, location="query")
@blp.response(200, PremisesSchema(many=True))
def list_premises(args):
    """List the premises in your scope."""
    query = service.premises_query(current_user())
    for name in ("cell_id", "category_code", "list_status"):
        if name in args:
            query = query.where(getattr(Premises, name) == args[name])
    return page(db.session, query, limit=args["limit"], offset=args["offset"],
                cursor=args.get("cursor"))


@blp.post("/")
@blp.arguments(PremisesCreate)
@blp.response(201, PremisesSchema)
def create(data):
    """Add a premises in your scope (admin, supervisor); its cell comes from its location."""
    actor = current_user("supervisor")
    with transaction():
        return service.create_premises(db.session, actor, data)


@blp.get("/orphans")
@blp.arguments(PageArgs, location="query")
@blp.response(200, PremisesSchema(many=True))
def orphans(args):
    """List premises that fall in no cell of an active map (admins, supervisors of the whole
    grid: every top cell of the active map)."""
    query = service.orphans_query(db.session, current_user())
    return page(db.session, query, limit=args["limit"], offset=args["offset"],
                cursor=args.get("cursor"))


@blp.get("/<int(max=2147483647):premises_id>")
@blp.response(200, PremisesSchema)
def get_one(premises_id):
    """Return one premises in your scope."""
    return service.get_premises(db.session, current_user(), premises_id)


@blp.patch("/<int(max=2147483647):premises_id>")
@blp.arguments(PremisesUpdate(partial=UPDATE_OPTIONAL))
@blp.response(200, PremisesSchema)
@blp.alt_response(409, description="base_version is stale: the current state is in details")
def update(data, premises_id):
    """Change a premises against the version you last saw; a stale version is a 409."""
    actor = current_user()
    base_version = data.pop("base_version")
    if not data:
        raise ValidationFailed("Nothing to change.", details={"json": ["no fields given"]})
    with transaction():
        return service.update_premises(db.session, actor, premises_id, data,
                                       base_version=base_version)


@blp.post("/import")
@blp.arguments(ImportQuery, location="query")
@blp.doc(requestBody=CSV_BODY)
@blp.response(200, ImportResult)
@blp.alt_response(202, schema=JobSchema, description="A large file (or `Prefer: respond-async`) "
                  "is imported by a background job: follow Location (GET /api/v1/jobs/{id}).")
def import_csv(options):
    """Import a CSV; every bad row is reported by line, and nothing is stored unless partial.

    Files up to JOBS_INLINE_MAX_BYTES are imported at once (200); larger ones, or with the
    header `Prefer: respond-async`, are queued as a job (202 and its status URL)."""
    actor = current_user("supervisor")
    data = request.get_data(cache=False)
    if not data:
        raise ValidationFailed("The request body is empty; send the CSV file.", code="empty_body")
    if len(data) > current_app.config["JOBS_INLINE_MAX_BYTES"] or \
            "respond-async" in request.headers.get("Prefer", ""):
        with transaction():
            job = jobs_service.enqueue(db.session, actor, "premises_import",
                                       {"coordinates": options["coordinates"],
                                        "partial": options["partial"]}, payload=data)
            body = JobSchema().dump(job)
        response = jsonify(body)
        response.status_code = 202
        response.headers["Location"] = body["status_url"]
        return response
    with transaction():
        return service.import_premises_csv(db.session, actor, data,
                                           coordinates=options["coordinates"],
                                           partial=options["partial"])
