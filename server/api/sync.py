"""The terminal sync protocol over HTTP: pull changes, push records (see sync/PROTOCOL.md)."""

from flask import current_app
from flask_smorest import Blueprint

from server.authentication import current_device, current_user
from server.db import transaction
from server.errors import AppError
from server.extensions import db
from server.api.followups import case_numbering, deadline_rules
from server.schemas.cells import CellWithGeometry
from server.schemas.premises import PremisesSchema
from server.schemas.sync import PullQuery, PullResponse, PushRequest, PushResponse
from server.schemas.checklists import ChecklistSchema
from server.schemas.complaints import ComplaintSchema
from server.schemas.followups import NotificationSchema, OrderSchema
from server.schemas.tasks import TaskSchema
from server.services.inspections import inspection_summary
from server.services.pull import pull
from server.services.evidence import EvidenceLimits
from server.services.push import RejectedLimits, push
from sync.protocol import MAX_BATCH_RECORDS, PROTOCOL_VERSION, BatchTooLarge

blp = Blueprint("sync", __name__,
                description="Terminal sync: pull changes, push records (see sync/PROTOCOL.md)")

# Complaints travel in their field shape only: never the complainant, whoever pulls.
SCHEMAS = {"cell": CellWithGeometry(), "premises": PremisesSchema(), "task": TaskSchema(),
           "checklist": ChecklistSchema(), "order": OrderSchema(),
           "complaint": ComplaintSchema(), "notification": NotificationSchema()}


def _serialize(item):
    if item["op"] == "delete":
        return {"type": item["type"], "id": item["id"], "op": "delete", "data": None}
    obj = item["object"]
    if item["type"] == "inspection_status":
        data = inspection_summary(db.session, obj)
    else:
        data = SCHEMAS[item["type"]].dump(obj)
    return {"type": item["type"], "id": item["id"], "op": "upsert", "data": data}


@blp.get("/pull")
@blp.arguments(PullQuery, location="query")
@blp.response(200, PullResponse)
@blp.alt_response(410, description="resync_required: pull again without a cursor")
def pull_changes(args):
    """Return what changed in your scope since the cursor, with tombstones for what left it.

    Without a cursor: everything in scope, in pages of at most `limit` items (the first page
    has reset: true). Keep next_cursor and scope and send them back next time; repeat while
    has_more. 410 resync_required: pull again without a cursor.
    """
    user = current_user()
    with transaction():
        page = pull(db.session, user, cursor=args.get("cursor"), known_scope=args.get("scope"),
                    limit=args["limit"])
        page["items"] = [_serialize(item) for item in page["items"]]
    return {"protocol": PROTOCOL_VERSION, **page}


@blp.post("/push")
@blp.arguments(PushRequest)
@blp.response(200, PushResponse)
@blp.alt_response(413, description=f"More than {MAX_BATCH_RECORDS} records in one push")
def push_records(body):
    """Apply each record on its own; answer created | duplicate | rejected | conflict for each.

    Replaying a batch changes nothing and answers duplicate for what was applied.
    """
    actor = current_user()
    device = current_device()
    try:
        with transaction():
            results = push(db.session, actor, device, body["records"],
                           limits=EvidenceLimits.from_config(current_app.config),
                           rejected_limits=RejectedLimits.from_config(current_app.config),
                           deadline_rules=deadline_rules(),
                           case_numbering=case_numbering())
    except BatchTooLarge as error:
        raise AppError(str(error), code="batch_too_large", status=413,
                       details={"max_records": MAX_BATCH_RECORDS}) from error
    return {"protocol": PROTOCOL_VERSION, "results": [r.to_dict() for r in results]}
