"""Tasks: who must inspect which premises by when; assignees default to the cell's staff."""

from datetime import date

from sqlalchemy import select

from server.errors import Conflict, NotFound, ValidationFailed
from server.models import CellAssignment, GridCell, Premises, Task, User
from server.models._types import utcnow
from server.models.tasks import TASK_KINDS, task_assignees
from server.services import audit
from server.services import changes as feed
from server.services.paging import page
from server.services.premises import get_premises
from server.services.scope import active_assignment_clause, cell_scope_clause, require_role


def ancestor_ids(cell):
    """Return the ids of a cell and the cells above it, from its path."""
    return [int(part) for part in cell.path.strip("/").split("/") if part]


def cell_staff(session, cell, category_code, roles=("officer", "coordinator")):
    """Return the users on a cell or above it whose duty covers the category, in force today.

    roles: the field roles wanted (rechecks go to officers only: see orders.schedule_recheck).
    """
    if cell is None:
        return []
    rows = session.execute(
        select(User, CellAssignment.duty).join(CellAssignment, CellAssignment.user_id == User.id)
        .where(CellAssignment.cell_id.in_(ancestor_ids(cell)), active_assignment_clause(),
               User.active, User.role.in_(roles))
        .order_by(User.id)).all()
    staff = {}
    for user, duty in rows:
        if not duty or category_code in duty:
            staff[user.id] = user
    return list(staff.values())


def covers(session, user, cell):
    """Return True when the cell lies in the user's scope."""
    return session.scalar(select(GridCell.id).where(GridCell.id == cell.id,
                                                    cell_scope_clause(user))) is not None


def create_task(session, actor, *, kind, premises_id, due_date, assignee_ids=None,
                origin="manual", note=""):
    """Create a task on a premises in scope; without assignees, the cell's staff on duty."""
    require_role(actor, "supervisor")
    if kind not in TASK_KINDS:
        raise ValidationFailed(f"Unknown task kind {kind!r}.", details={"kind": list(TASK_KINDS)})
    premises = get_premises(session, actor, premises_id)
    cell = premises.cell
    if assignee_ids:
        assignees = session.scalars(select(User).where(User.id.in_(assignee_ids), User.active)).all()
        outside = sorted(set(assignee_ids) - {u.id for u in assignees if cell and covers(session, u, cell)})
        if outside:
            raise ValidationFailed("Assignees must be active staff whose cells cover the premises.",
                                   code="assignee_out_of_scope", details={"assignee_ids": outside})
    else:
        assignees = cell_staff(session, cell, premises.category_code)
    task = Task(kind=kind, premises_id=premises.id, cell_id=premises.cell_id, due_date=due_date,
                status="open", origin=origin, note=note, created_by_id=actor.id,
                assignees=list(assignees))
    session.add(task)
    session.flush()
    feed.emit(session, "task", task.id, cell_id=premises.cell_id)
    audit.record(session, actor, "task.create", "task", task.id, after=task_state(task))
    return task


def task_state(task):
    """Return the audited state of a task."""
    return {"kind": task.kind, "premises_id": task.premises_id, "cell_id": task.cell_id,
            "due_date": task.due_date, "status": task.status, "origin": task.origin,
            "assignees": [u.id for u in task.assignees]}


def list_tasks(session, actor, *, status=None, mine=False, overdue=False, limit, offset=0, cursor=None):
    """Return a page of the tasks the actor sees; overdue=True keeps open tasks past due."""
    query = tasks_query(actor, status=status, mine=mine,
                        overdue_on=date.today() if overdue else None)
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def tasks_query(actor, *, status=None, mine=False, overdue_on=None):
    """Select tasks: field staff see theirs; supervisors see every task in their scope.

    overdue_on=date keeps the open tasks due before that day.
    """
    query = select(Task).order_by(Task.due_date, Task.id)
    if mine or actor.role in ("officer", "coordinator"):
        query = query.where(Task.id.in_(select(task_assignees.c.task_id)
                                        .where(task_assignees.c.user_id == actor.id)))
    if not actor.is_admin:
        # Visibility follows the premises' current cell, so tasks survive a new map version.
        query = (query.join(Premises, Premises.id == Task.premises_id)
                 .join(GridCell, GridCell.id == Premises.cell_id).where(cell_scope_clause(actor)))
    if status:
        query = query.where(Task.status == status)
    if overdue_on is not None:
        query = query.where(Task.status == "open", Task.due_date < overdue_on)
    return query


def get_task(session, actor, task_id):
    """Return a task the actor may see, or raise NotFound."""
    task = session.scalar(tasks_query(actor).where(Task.id == task_id))
    if task is None:
        raise NotFound(f"Task {task_id} not found.")
    return task


def cancel_task(session, actor, task_id, *, reason):
    """Cancel an open task, saying why."""
    require_role(actor, "supervisor")
    task = get_task(session, actor, task_id)
    if task.status != "open":
        raise Conflict(f"Task {task_id} is {task.status}.", code="task_not_open")
    before = task_state(task)
    task.status = "cancelled"
    task.note = (task.note + "\n" if task.note else "") + f"取消原因 / cancelled: {reason}"
    task.updated_at = utcnow()
    session.flush()
    feed.emit(session, "task", task.id, "delete", cell_id=task.premises.cell_id)
    audit.record(session, actor, "task.cancel", "task", task.id, before=before,
                 after=task_state(task), details={"reason": reason})
    return task

