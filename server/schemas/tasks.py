"""Schemas of the tasks API."""

from marshmallow import Schema, fields, validate

from server.models.tasks import TASK_KINDS, TASK_STATUSES
from server.schemas.common import Id, PageArgs, Text, labels_of


class TaskSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Function(lambda t: labels_of(TASK_KINDS, t.kind))
    premises_id = fields.Int()
    premises_name = fields.Function(lambda t: t.premises.name)
    cell_id = fields.Int(allow_none=True)
    due_date = fields.Date()
    status = fields.Str()
    status_label = fields.Function(lambda t: labels_of(TASK_STATUSES, t.status))
    origin = fields.Str()
    note = fields.Str()
    assignee_ids = fields.Function(lambda t: [u.id for u in t.assignees])


class TaskCreate(Schema):
    kind = Text(required=True, validate=validate.OneOf(TASK_KINDS))
    premises_id = Id(required=True)
    due_date = fields.Date(required=True)
    assignee_ids = fields.List(Id(), validate=validate.Length(max=20))
    note = Text(load_default="", validate=validate.Length(max=2000))


class TaskQuery(PageArgs):
    status = Text(validate=validate.OneOf(TASK_STATUSES))
    mine = fields.Bool(load_default=False)
    overdue = fields.Bool(load_default=False)


class CancelRequest(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))
