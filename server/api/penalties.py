"""Penalties (行政处罚), post-penalty rechecks, bad-practice points (不良执业行为记分) and the
measures they open (约谈 …), under /api/v1/followups."""

from datetime import date

from flask import current_app
from flask_smorest import Blueprint

from server.api.followups import office
from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.schemas.followups import DocumentSchema
from server.schemas.penalties import (
    MeasureDoneIn,
    MeasureQuery,
    MeasureSchema,
    PenaltyIn,
    PenaltyQuery,
    PenaltySchema,
    PointsQuery,
    PointsSchema,
    PublicationIn,
)
from server.services.followups import measures, points
from server.services.followups import penalties as service
from server.services.premises import get_premises

blp = Blueprint("penalties", __name__, url_prefix="/api/v1/followups",
                description="Penalties (行政处罚), points (记分) and measures (约谈)")
ID = "<int(max=2147483647):penalty_id>"


def point_rules():
    """Return the point rules the office adopted (FOLLOWUPS_POINT_RULES)."""
    return points.load_rules(current_app.config["FOLLOWUPS_POINT_RULES"])


@blp.post("/penalties/")
@blp.arguments(PenaltyIn)
@blp.response(201, PenaltySchema)
@blp.alt_response(200, schema=PenaltySchema, description="The same penalty was already recorded")
@blp.alt_response(409, description="The client UUID was used for other content, or the "
                                   "decision number is taken (decision_number_taken)")
def record(data):
    """Record a penalty decision (supervisor, admin); schedules its post-penalty recheck.

    The recheck task is due FOLLOWUPS_POST_PENALTY_RECHECK_DAYS calendar days after the
    decision; publication is due 7 working days after it. Points accrue by the point rules.
    """
    actor = current_user()
    data["client_uuid"] = str(data["client_uuid"])
    with transaction():
        penalty, outcome = service.record_penalty(
            db.session, actor, data, point_rules=point_rules(),
            recheck_days=current_app.config["FOLLOWUPS_POST_PENALTY_RECHECK_DAYS"])
    return penalty, 201 if outcome == "created" else 200


@blp.get("/penalties/")
@blp.arguments(PenaltyQuery, location="query")
@blp.response(200, PenaltySchema(many=True))
def list_penalties(args):
    """List the penalties on premises in your scope; filter by publication state, premises, type."""
    return service.list_penalties(db.session, current_user(), **args)


@blp.get(f"/penalties/{ID}")
@blp.response(200, PenaltySchema)
def get_one(penalty_id):
    """Return one penalty."""
    return service.get_penalty(db.session, current_user(), penalty_id)


@blp.post(f"/penalties/{ID}/publication")
@blp.arguments(PublicationIn)
@blp.response(200, PenaltySchema)
@blp.alt_response(409, description="already_published")
def publish(data, penalty_id):
    """Record that the penalty was published (公示): date and where (supervisor, admin), once."""
    actor = current_user()
    with transaction():
        return service.publish(db.session, actor, penalty_id, **data)


@blp.post(f"/penalties/{ID}/document")
@blp.response(201, DocumentSchema)
@blp.alt_response(200, schema=DocumentSchema, description="The decision was already issued")
def issue_document(penalty_id):
    """Issue the penalty decision (行政处罚决定书) with the office's next number, once."""
    actor = current_user()
    with transaction():
        document, outcome = service.issue_decision_document(db.session, actor, penalty_id,
                                                            office=office())
    return document, 201 if outcome == "created" else 200


@blp.get("/points")
@blp.arguments(PointsQuery, location="query")
@blp.response(200, PointsSchema)
def points_of(args):
    """Return a premises' points in the current cycle: total, thresholds, entries."""
    premises = get_premises(db.session, current_user(), args["premises_id"])
    return points.points_of(db.session, premises, rules=point_rules(), today=date.today())


@blp.get("/measures")
@blp.arguments(MeasureQuery, location="query")
@blp.response(200, MeasureSchema(many=True))
def list_measures(args):
    """List the measures (约谈, 暂缓校验, 重点监管建议) on premises in your scope."""
    return measures.list_measures(db.session, current_user(), **args)


@blp.post("/measures/<int(max=2147483647):measure_id>/done")
@blp.arguments(MeasureDoneIn)
@blp.response(200, MeasureSchema)
@blp.alt_response(409, description="measure_done: already recorded")
def measure_done(data, measure_id):
    """Record that a measure was carried out (the interview held): date and outcome, once."""
    actor = current_user()
    with transaction():
        return measures.mark_done(db.session, actor, measure_id, **data)
