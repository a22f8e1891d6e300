"""Overdue (逾期) is computed from due dates at query time, never stored as a flag.

One registry, SOURCES, says for each kind of obligation how to select its open items with
their due date, cell, premises and owning task. The overdue list and the sweep read every kind
through it; a later kind (case stages, publications) is one more entry.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from sqlalchemy import Integer, cast, literal_column, null, select, union_all

from server.models import (
    Case,
    CaseStage,
    Complaint,
    GridCell,
    Penalty,
    Premises,
    RectificationOrder,
    Task,
    User,
)
from server.models.cases import case_handlers
from server.models.tasks import task_assignees
from server.services.followups.orders import ORDER_ORIGIN
from server.services.followups.transitions import shipped_transitions
from server.services.paging import page
from server.services.scope import cell_scope_clause, get_cell_in_scope, subtree_clause
from server.services.tasks import cell_staff


@dataclass(frozen=True)
class Source:
    """One kind of obligation: its labels, its due-date column and how to select open items."""

    kind: str
    label: tuple  # (zh, en)
    due: object  # the (indexed) due-date column
    select_open: Callable  # () -> select(kind, id, due_date, cell_id, premises_id, owner_task_id)
    # (session, ids) -> {id: [users]} for kinds not owned through a task; None: the task's.
    owners: Callable | None = None


def _columns(kind, model_id, due, cell_id, premises_id, owner_task_id):
    return (literal_column(f"'{kind}'").label("kind"), model_id.label("id"),
            due.label("due_date"), cell_id.label("cell_id"),
            premises_id.label("premises_id"), owner_task_id.label("owner_task_id"))


def _open_orders():
    order = RectificationOrder
    # Visibility follows the premises' current cell (maps change), as for the orders list.
    return (select(*_columns("order", order.id, order.deadline, Premises.cell_id,
                             order.premises_id, order.task_id))
            .join(Premises, Premises.id == order.premises_id)
            .where(order.state.in_(shipped_transitions().open_states())))


def _open_tasks():
    # An order's recheck task is the order's obligation, due on its deadline: the order stands
    # for it (one reminder, one line on the list), and its owners are the task's assignees.
    return (select(*_columns("task", Task.id, Task.due_date, Premises.cell_id, Task.premises_id,
                             Task.id))
            .join(Premises, Premises.id == Task.premises_id)
            .where(Task.status == "open", Task.origin.not_like(f"{ORDER_ORIGIN}%")))


def _unanswered_complaints():
    return (select(*_columns("complaint_feedback", Complaint.id, Complaint.feedback_due,
                             Complaint.cell_id, Complaint.premises_id, Complaint.task_id))
            .where(Complaint.feedback_due.is_not(None), Complaint.feedback_at.is_(None)))


def _current_case_stages():
    # Only open cases: a transferred case's limits no longer run (services/followups/cases.py).
    return (select(*_columns("case_stage", CaseStage.id, CaseStage.due_on, Premises.cell_id,
                             Case.premises_id, cast(null(), Integer)))
            .join(Case, Case.id == CaseStage.case_id)
            .join(Premises, Premises.id == Case.premises_id)
            .where(CaseStage.completed_on.is_(None), Case.state == "open"))


def _case_handlers(session, stage_ids):
    """Return {case stage id: [active handlers of its case]}."""
    owners = {}
    for stage_id, user in session.execute(
            select(CaseStage.id, User)
            .join(case_handlers, case_handlers.c.case_id == CaseStage.case_id)
            .join(User, User.id == case_handlers.c.user_id)
            .where(CaseStage.id.in_(sorted(stage_ids)), User.active).order_by(User.id)):
        owners.setdefault(stage_id, []).append(user)
    return owners
def _pending_publications():
    # Visibility follows the premises' current cell, as for the penalties list.
    return (select(*_columns("penalty_publication", Penalty.id, Penalty.publication_due,
                             Premises.cell_id, Penalty.premises_id, cast(null(), Integer)))
            .join(Premises, Premises.id == Penalty.premises_id)
            .where(Penalty.publication_state == "pending"))


def _recorders(session, ids):
    """The office user who recorded each penalty owns its publication (if still active)."""
    return {penalty_id: [user] for penalty_id, user in session.execute(
        select(Penalty.id, User).join(User, User.id == Penalty.recorded_by_id)
        .where(Penalty.id.in_(sorted(ids)), User.active))}


SOURCES = {source.kind: source for source in (
    Source("order", ("整改期限", "Rectification deadline"), RectificationOrder.deadline,
           _open_orders),
    Source("task", ("任务", "Task"), Task.due_date, _open_tasks),
    Source("complaint_feedback", ("投诉答复", "Complaint feedback"), Complaint.feedback_due,
           _unanswered_complaints),
    Source("case_stage", ("案件办理期限", "Case stage time limit"), CaseStage.due_on,
           _current_case_stages, owners=_case_handlers),
    Source("penalty_publication", ("处罚公示", "Penalty publication"), Penalty.publication_due,
           _pending_publications, owners=_recorders),
)}
OVERDUE_KINDS = {kind: source.label for kind, source in SOURCES.items()}


def due_rows(source, *, on_or_before):
    """Select a source's open items due on or before a day (a range on the due-date index)."""
    return source.select_open().where(source.due <= on_or_before)


def list_overdue(session, actor, *, kind=None, cell_id=None, min_days=1, limit, offset=0,
                 cursor=None, today=None):
    """Return a page of the items in the actor's scope at least min_days past due.

    Ordered most overdue first. Each item: kind, id, due_date, days_overdue, cell_id,
    premises_id, premises_name, owners [{id, username, display_name}].
    """
    today = today or date.today()
    within = get_cell_in_scope(session, actor, cell_id) if cell_id is not None else None
    selects = []
    for source in ([SOURCES[kind]] if kind else SOURCES.values()):
        query = due_rows(source, on_or_before=today - timedelta(days=min_days))
        selects.append(_scoped(query, actor, within))
    rows = union_all(*selects).subquery()
    found = page(session, select(rows).order_by(rows.c.due_date, rows.c.kind, rows.c.id),
                 limit=limit, offset=offset, cursor=cursor, whole_rows=True)
    return _items(session, found, today)


def _scoped(query, actor, within):
    cell_id = query.selected_columns.cell_id
    if actor.is_admin and within is None:
        return query
    query = query.join(GridCell, GridCell.id == cell_id).where(cell_scope_clause(actor))
    if within is not None:
        query = query.where(subtree_clause(GridCell, within.map_id, within.path))
    return query


def owners_of(session, task_ids):
    """Return {task id: [active users assigned]} for the owning tasks."""
    owners = {}
    if not task_ids:
        return owners
    for task_id, user in session.execute(
            select(task_assignees.c.task_id, User)
            .join(User, User.id == task_assignees.c.user_id)
            .where(task_assignees.c.task_id.in_(sorted(task_ids)), User.active)
            .order_by(User.id)):
        owners.setdefault(task_id, []).append(user)
    return owners


def owners_for(session, rows):
    """Return {(kind, id): [users]}: the assignees of each item's task (or, for a kind with
    its own owners hook, e.g. case stages, whom it names); an order whose task has none
    (nobody was on duty when it was issued) falls back to the cell's staff today."""
    by_task = owners_of(session, {row.owner_task_id for row in rows if row.owner_task_id})
    owners = {(row.kind, row.id): by_task.get(row.owner_task_id, []) for row in rows}
    for kind in sorted({row.kind for row in rows}):
        if SOURCES[kind].owners is not None:
            named = SOURCES[kind].owners(session, {row.id for row in rows if row.kind == kind})
            owners.update({(kind, row.id): named.get(row.id, [])
                           for row in rows if row.kind == kind})
    for row in rows:
        if row.kind == "order" and not owners[(row.kind, row.id)] and row.premises_id:
            premises = session.get(Premises, row.premises_id)
            owners[(row.kind, row.id)] = cell_staff(session, premises.cell,
                                                    premises.category_code)
    return owners


def _items(session, rows, today):
    owners = owners_for(session, rows)
    premises_ids = sorted({row.premises_id for row in rows if row.premises_id})
    names = dict(session.execute(select(Premises.id, Premises.name)
                                 .where(Premises.id.in_(premises_ids))).all()) if rows else {}
    return [{"kind": row.kind, "id": row.id, "due_date": row.due_date,
             "days_overdue": (today - row.due_date).days, "cell_id": row.cell_id,
             "premises_id": row.premises_id, "premises_name": names.get(row.premises_id),
             "owners": [{"id": user.id, "username": user.username,
                         "display_name": user.display_name}
                        for user in owners[(row.kind, row.id)]]}
            for row in rows]

