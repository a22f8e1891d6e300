"""Tasks: what to inspect, where, by when (任务)."""

from flask_smorest import Blueprint

from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.schemas.tasks import CancelRequest, TaskCreate, TaskQuery, TaskSchema
from server.services import tasks as service

blp = Blueprint("tasks", __name__, description="Inspection tasks (任务)")


@blp.get("/")
@blp.arguments(TaskQuery, location="query")
@blp.response(200, TaskSchema(many=True))
def list_tasks(args):
    """List tasks: yours (field staff), or all in your scope (supervisors); overdue=true filters."""
    return service.list_tasks(db.session, current_user(), **args)


@blp.post("/")
@blp.arguments(TaskCreate)
@blp.response(201, TaskSchema)
def create(data):
    """Create a task (admin, supervisor); assignees default to the cell's staff on duty."""
    actor = current_user("supervisor")
    with transaction():
        return service.create_task(db.session, actor, **data)


@blp.get("/<int(max=2147483647):task_id>")
@blp.response(200, TaskSchema)
def get_one(task_id):
    """Return one task you may see."""
    return service.get_task(db.session, current_user(), task_id)


@blp.post("/<int(max=2147483647):task_id>/cancel")
@blp.arguments(CancelRequest)
@blp.response(200, TaskSchema)
def cancel(data, task_id):
    """Cancel an open task, saying why (admin, supervisor)."""
    actor = current_user("supervisor")
    with transaction():
        return service.cancel_task(db.session, actor, task_id, reason=data["reason"])
