"""The terminal sync protocol over HTTP: push a batch of records (see sync/PROTOCOL.md)."""

from flask import current_app
from flask_smorest import Blueprint

from server.auth import current_device, current_user
from server.db import transaction
from server.errors import AppError
from server.extensions import db
from server.schemas.sync import PushRequest, PushResponse
from server.services.evidence import EvidenceLimits
from server.services.push import push
from sync.protocol import MAX_BATCH_RECORDS, PROTOCOL_VERSION, BatchTooLarge

blp = Blueprint("sync", __name__, description="Terminal sync: push records (see sync/PROTOCOL.md)")


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
                           limits=EvidenceLimits.from_config(current_app.config))
    except BatchTooLarge as error:
        raise AppError(str(error), code="batch_too_large", status=413,
                       details={"max_records": MAX_BATCH_RECORDS}) from error
    return {"protocol": PROTOCOL_VERSION, "results": [r.to_dict() for r in results]}
