"""Schemas of the penalties API: shape only; the service checks amounts by type and dates."""

from marshmallow import Schema, ValidationError, fields, validate

from server.models.penalties import (
    MEASURE_KINDS,
    MEASURE_SOURCES,
    MEASURE_STATES,
    PENALTY_TYPES,
    POINT_SOURCES,
    PUBLICATION_STATES,
)
from server.schemas.common import Id, PageArgs, Text, labels_of
from server.services.followups.penalties import amount_text

MAX_AMOUNT = 1_000_000_000  # yuan


def not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


def amount_in_fen(value):
    """0.01 … MAX_AMOUNT yuan, at most two decimals (a Range would render as strings)."""
    if not 0 < value <= MAX_AMOUNT:
        raise ValidationError(f"Must be more than 0 and at most {MAX_AMOUNT} yuan.")
    if value.as_tuple().exponent < -2:
        raise ValidationError("At most two decimals (fen).")


class PenaltyIn(Schema):
    client_uuid = fields.UUID(required=True)
    decision_number = Text(required=True, validate=[validate.Length(min=1, max=64), not_blank])
    decided_on = fields.Date(required=True)
    type = Text(required=True, validate=validate.OneOf(PENALTY_TYPES))
    # Yuan, up to two decimals; required for fine and confiscation, refused for a warning.
    amount = fields.Decimal(allow_none=True, load_default=None,
                            validate=amount_in_fen,
                            metadata={"description": "yuan, 0.01 … 1e9, two decimals"})
    legal_basis = Text(required=True, validate=[validate.Length(min=1, max=2000), not_blank])
    facts = Text(load_default="", validate=validate.Length(max=5000))
    premises_id = Id(required=True)
    inspection_id = Id(allow_none=True, load_default=None)
    # The case it came from (cases are recorded elsewhere; not checked here).
    case_id = Id(allow_none=True, load_default=None)


class PenaltyQuery(PageArgs):
    publication_state = Text(validate=validate.OneOf(PUBLICATION_STATES))
    premises_id = Id()
    type = Text(validate=validate.OneOf(PENALTY_TYPES))


class PublicationIn(Schema):
    published_on = fields.Date(required=True)
    where = Text(required=True, validate=[validate.Length(min=1, max=2000), not_blank])


class PenaltySchema(Schema):
    id = fields.Int()
    client_uuid = fields.Str()
    decision_number = fields.Str()
    decided_on = fields.Date()
    type = fields.Str()
    type_label = fields.Function(lambda p: labels_of(PENALTY_TYPES, p.type))
    amount = fields.Function(lambda p: amount_text(p.amount_fen), allow_none=True)
    amount_fen = fields.Int(allow_none=True)
    legal_basis = fields.Str()
    facts = fields.Str()
    premises_id = fields.Int()
    premises_name = fields.Function(lambda p: p.premises.name)
    cell_id = fields.Int(allow_none=True)
    inspection_id = fields.Int(allow_none=True)
    case_id = fields.Int(allow_none=True)
    recheck_task_id = fields.Int(allow_none=True)
    recheck_due = fields.Date()
    recheck_inspection_id = fields.Int(allow_none=True)
    publication_due = fields.Date()
    publication_state = fields.Str()
    publication_state_label = fields.Function(
        lambda p: labels_of(PUBLICATION_STATES, p.publication_state))
    published_on = fields.Date(allow_none=True)
    published_where = fields.Str(allow_none=True)
    recorded_by_id = fields.Int()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PointsQuery(Schema):
    premises_id = Id(required=True)


class PointEntry(Schema):
    id = fields.Int()
    premises_id = fields.Int()
    cell_id = fields.Int(allow_none=True)
    points = fields.Int()
    source_kind = fields.Str()
    source_kind_label = fields.Function(lambda e: labels_of(POINT_SOURCES, e.source_kind))
    source_id = fields.Int()
    rule = fields.Str()
    rules_version = fields.Int()
    accrued_on = fields.Date()
    cycle_start = fields.Date()


class Threshold(Schema):
    points = fields.Int()
    opens = fields.Str()
    opens_label = fields.Function(lambda t: labels_of(MEASURE_KINDS, t["opens"]))
    reached = fields.Bool()


class PointsSchema(Schema):
    premises_id = fields.Int()
    cell_id = fields.Int(allow_none=True)
    cycle_start = fields.Date()
    cycle_end = fields.Date()
    total = fields.Int()
    rules_version = fields.Int()
    thresholds = fields.List(fields.Nested(Threshold))
    entries = fields.List(fields.Nested(PointEntry))


class MeasureQuery(PageArgs):
    kind = Text(validate=validate.OneOf(MEASURE_KINDS))
    state = Text(validate=validate.OneOf(MEASURE_STATES))
    premises_id = Id()


class MeasureDoneIn(Schema):
    held_on = fields.Date(required=True)
    outcome = Text(required=True, validate=[validate.Length(min=1, max=5000), not_blank])


class MeasureSchema(Schema):
    id = fields.Int()
    premises_id = fields.Int()
    premises_name = fields.Function(lambda m: m.premises.name)
    cell_id = fields.Int(allow_none=True)
    kind = fields.Str()
    kind_label = fields.Function(lambda m: labels_of(MEASURE_KINDS, m.kind))
    source = fields.Str()
    source_label = fields.Function(lambda m: labels_of(MEASURE_SOURCES, m.source))
    period = fields.Str()
    reason = fields.Str()
    details = fields.Dict()
    opened_on = fields.Date()
    state = fields.Str()
    state_label = fields.Function(lambda m: labels_of(MEASURE_STATES, m.state))
    held_on = fields.Date(allow_none=True)
    outcome = fields.Str(allow_none=True)
    done_by_id = fields.Int(allow_none=True)
