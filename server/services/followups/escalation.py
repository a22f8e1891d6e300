"""Reminders before due and escalations after, by a rule table kept as data
(server/followups/escalation_rules.json), raised by `flask followups sweep`.

The sweep reads only the items due within the reminder window or past it (a range on each
due-date index), works out who must be told at which level, and inserts the notifications
ON CONFLICT DO NOTHING: a notification is raised once, so running it again raises nothing.
"""

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.errors import ValidationFailed
from server.models import CellAssignment, GridCell, Notification, User
from server.models._types import utcnow
from server.models.grid import LEVELS
from server.services import audit
from server.services import changes as feed
from server.services.followups import DATA
from server.services.followups.overdue import SOURCES, due_rows, owners_for
from server.services.scope import active_assignment_clause

SHIPPED_RULES = DATA / "escalation_rules.json"
MAX_DAYS = 366
INSERT_CHUNK = 500


@dataclass(frozen=True)
class EscalationRules:
    remind_days: tuple  # days before due, largest first (0: on the due day)
    escalate: tuple  # ((days_overdue, level), ...) by days

    @property
    def window(self):
        """How many days before due the sweep starts reading an item."""
        return max(self.remind_days, default=0)

    def reminder_level(self, days_overdue):
        """Return the level of the latest reminder reached ("before_N"), or None."""
        reached = [days for days in self.remind_days if -days <= days_overdue <= 0]
        return f"before_{min(reached)}" if reached else None

    def escalation_levels(self, days_overdue):
        """Return the grid levels told by now, in order."""
        return [level for days, level in self.escalate if days_overdue >= days]


def validate_rules(document):
    """Return the EscalationRules a document describes, or raise ValidationFailed listing why."""
    problems = []
    if not isinstance(document, dict):
        raise ValidationFailed("The escalation rules must be a JSON object.",
                               code="escalation_rules_invalid", details={"problems": []})
    remind, escalate = document.get("remind", []), document.get("escalate", [])
    if not isinstance(remind, list) or not isinstance(escalate, list):
        problems.append("remind and escalate must be lists")
        remind, escalate = [], []
    remind_days = []
    for n, rule in enumerate(remind):
        days = rule.get("days_before") if isinstance(rule, dict) else None
        if not _whole(days):
            problems.append(f"remind[{n}].days_before must be a whole number 0..{MAX_DAYS}")
        elif days in remind_days:
            problems.append(f"remind[{n}]: {days} days before is listed twice")
        else:
            remind_days.append(days)
    steps = []
    for n, rule in enumerate(escalate):
        rule = rule if isinstance(rule, dict) else {}
        days, level = rule.get("days_overdue"), rule.get("level")
        if not _whole(days) or days < 1:
            problems.append(f"escalate[{n}].days_overdue must be a whole number 1..{MAX_DAYS}")
        if level not in LEVELS:
            problems.append(f"escalate[{n}].level must be one of {list(LEVELS)}")
        elif any(level == seen for _, seen in steps):
            problems.append(f"escalate[{n}]: level {level} is listed twice")
        steps.append((days, level))
    if not problems and [d for d, _ in steps] != sorted(d for d, _ in steps):
        problems.append("escalate must be in order of days_overdue")
    if not problems and _levels_go_down(steps):
        problems.append("each escalation must go up the grid "
                        "(community → street → district → city → province)")
    if problems:
        raise ValidationFailed("The escalation rules are not valid.",
                               code="escalation_rules_invalid", details={"problems": problems})
    return EscalationRules(tuple(sorted(remind_days, reverse=True)), tuple(steps))


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DAYS


def _levels_go_down(steps):
    ranks = [LEVELS.index(level) for _, level in steps]  # province 0 … community 4
    return any(later >= earlier for earlier, later in zip(ranks, ranks[1:]))


def load_rules(path=SHIPPED_RULES):
    """Read and validate a rule file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValidationFailed(f"Cannot read the escalation rules {path}: {error}",
                               code="escalation_rules_invalid",
                               details={"problems": [str(error)]}) from error
    return validate_rules(document)


def sweep(session, actor, *, rules, today=None):
    """Raise the reminders and escalations due today, once each; return the counts.

    Reads, per kind, the open items due on or before today + the reminder window only.
    """
    today = today or date.today()
    rows = []
    for source in SOURCES.values():
        rows += session.execute(due_rows(source, on_or_before=today + timedelta(
            days=rules.window))).all()
    owners = owners_for(session, rows)
    supervisors = _supervisors_above(session, {row.cell_id for row in rows if row.cell_id},
                                     {level for _, level in rules.escalate})
    now = utcnow()
    wanted = []
    for row in rows:
        days = (today - row.due_date).days
        told = []
        level = rules.reminder_level(days)
        if level:
            told += [(user_id, "reminder", level)
                     for user_id in [user.id for user in owners[(row.kind, row.id)]]]
        for level in rules.escalation_levels(days):
            told += [(user_id, "escalation", level)
                     for user_id in supervisors.get((row.cell_id, level), [])]
        wanted += [{"user_id": user_id, "kind": kind, "level": level, "subject_kind": row.kind,
                    "subject_id": row.id, "due_date": row.due_date, "cell_id": row.cell_id,
                    "premises_id": row.premises_id, "raised_at": now}
                   for user_id, kind, level in told]
    raised = _insert_once(session, wanted)
    for notification_id, user_id, _ in raised:
        feed.emit(session, "notification", notification_id, user_id=user_id)
    counts = {"today": today.isoformat(), "items_read": len(rows),
              "reminders": sum(1 for *_, kind in raised if kind == "reminder"),
              "escalations": sum(1 for *_, kind in raised if kind == "escalation"),
              "already_raised": len(wanted) - len(raised)}
    audit.record(session, actor, "followups.sweep", "notifications", today.isoformat(),
                 details=counts)
    return counts


def _supervisors_above(session, cell_ids, levels):
    """Return {(cell id, level): [user ids]} to tell for each escalation level of each cell.

    The supervisors in force on the cell's ancestor (or the cell itself) at that grid level;
    when that level has none, those of the nearest ancestor above that has some; when no
    ancestor has any, the admins. An overdue item is never escalated to nobody.
    """
    if not cell_ids or not levels:
        return {}
    paths = dict(session.execute(select(GridCell.id, GridCell.path)
                                 .where(GridCell.id.in_(sorted(cell_ids)))).all())
    # path lists the ids from the top of the map down to the cell itself
    chains = {cell_id: [int(part) for part in path.strip("/").split("/") if part]
              for cell_id, path in paths.items()}
    every = sorted({a for chain in chains.values() for a in chain})
    level_of = dict(session.execute(select(GridCell.id, GridCell.level)
                                    .where(GridCell.id.in_(every))).all())
    staff = {}
    for cell_id, user_id in session.execute(
            select(CellAssignment.cell_id, CellAssignment.user_id)
            .join(User, User.id == CellAssignment.user_id)
            .where(CellAssignment.cell_id.in_(every), active_assignment_clause(), User.active,
                   User.role == "supervisor")
            .order_by(CellAssignment.user_id)):
        staff.setdefault(cell_id, []).append(user_id)
    admins = None
    told = {}
    for cell_id, chain in chains.items():
        for level in levels:
            at = [n for n, ancestor in enumerate(chain) if level_of.get(ancestor) == level]
            if not at:
                continue  # the cell lies above that level: nothing to escalate there
            above = [ancestor for ancestor in reversed(chain[:at[0] + 1]) if staff.get(ancestor)]
            if above:
                told[(cell_id, level)] = staff[above[0]]
                continue
            if admins is None:
                admins = list(session.scalars(select(User.id).where(
                    User.role == "admin", User.active).order_by(User.id)))
            told[(cell_id, level)] = admins
    return told


def _insert_once(session, rows):
    """Insert the notifications not raised before; return (id, user_id, kind) of the new ones."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    raised = []
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (insert(Notification).values(rows[start:start + INSERT_CHUNK])
                     .on_conflict_do_nothing()
                     .returning(Notification.id, Notification.user_id, Notification.kind))
        raised += [tuple(row) for row in session.execute(statement)]
    return sorted(raised)
