"""Bad-practice points (不良执业行为记分) by a rule table kept as data
(server/followups/point_rules.json; there is no national table: offices adopt their own).

Points accrue as rows, once per source (a penalty, an order), in calendar-aligned cycles;
reaching a threshold within a cycle opens its measure once per cycle (measures.py).
"""

import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select

from server.errors import ValidationFailed
from server.models import PracticePoint, Premises
from server.models._types import utcnow
from server.models.checklists import SEVERITIES
from server.models.penalties import MEASURE_KINDS, PENALTY_TYPES
from server.services import audit
from server.services.followups import DATA
from server.services.followups.measures import insert_ignoring_conflict, open_measure

SHIPPED_RULES = DATA / "point_rules.json"
CYCLE_MONTHS = (1, 2, 3, 4, 6, 12)  # cycles tile the year from 1 January
MAX_POINTS = 100
MAX_THRESHOLD = 1000


class PointRulesInvalid(ValidationFailed):
    code = "point_rules_invalid"


@dataclass(frozen=True)
class PointRules:
    version: int
    cycle_months: int
    penalty: dict  # penalty type -> points
    finding: dict  # severity -> points
    thresholds: tuple  # ((points, measure kind), ...) ascending
    failures: int
    within_days: int
    failure_opens: str

    def penalty_points(self, penalty_type):
        """Return (points, rule) for a penalty of this type."""
        return self.penalty[penalty_type], f"penalty:{penalty_type}"

    def order_points(self, severities):
        """Return (points, rule) for an order with findings of these severities."""
        counts = Counter(severities)
        rule = "+".join(f"{severity}×{counts[severity]}"
                        for severity in ("key", "major", "minor") if counts[severity])
        return sum(self.finding[s] * n for s, n in counts.items()), f"finding:{rule}"

    def reached(self, total):
        """Return the thresholds ((points, kind), ...) a cycle total has reached."""
        return [(points, kind) for points, kind in self.thresholds if total >= points]


def cycle_start(day, months):
    """Return the first day of the cycle a day falls in (cycles tile the year from 1 January)."""
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def cycle_end(start, months):
    """Return the last day of the cycle starting on start."""
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _whole(value, low, high):
    return type(value) is int and low <= value <= high


def _table(document, key, names, problems):
    table = document.get(key)
    if not isinstance(table, dict):
        problems.append(f"points.{key}: an object of points by {list(names)} is required")
        return {}
    for name in names:
        if not _whole(table.get(name), 0, MAX_POINTS):
            problems.append(f"points.{key}.{name}: a whole number 0-{MAX_POINTS} is required")
    problems.extend(f"points.{key}.{name}: unknown (known: {list(names)})"
                    for name in table if name not in names)
    return dict(table)


def validate_rules(document):
    """Return the PointRules a rule document describes, or raise PointRulesInvalid listing why."""
    if not isinstance(document, dict):
        raise PointRulesInvalid("The point rules must be a JSON object.",
                                details={"problems": ["not an object"]})
    problems = []
    if not _whole(document.get("version"), 1, 10**6):
        problems.append("version: a whole number from 1 is required")
    if not isinstance(document.get("note"), str) or not document["note"].strip():
        problems.append("note: say whose table this is (there is no national one)")
    if document.get("cycle_months") not in CYCLE_MONTHS or type(document.get("cycle_months")) is not int:
        problems.append(f"cycle_months: one of {list(CYCLE_MONTHS)} is required")
    points = document.get("points") if isinstance(document.get("points"), dict) else {}
    if not points:
        problems.append("points: an object with penalty and finding is required")
    penalty = _table(points, "penalty", PENALTY_TYPES, problems)
    finding = _table(points, "finding", SEVERITIES, problems)
    thresholds = []
    raw = document.get("thresholds")
    if not isinstance(raw, list) or not raw:
        problems.append("thresholds: a non-empty list is required")
        raw = []
    for n, rule in enumerate(raw):
        rule = rule if isinstance(rule, dict) else {}
        if not _whole(rule.get("points"), 1, MAX_THRESHOLD):
            problems.append(f"thresholds[{n}].points: a whole number 1-{MAX_THRESHOLD} is required")
        elif thresholds and rule["points"] <= thresholds[-1][0]:
            problems.append(f"thresholds[{n}]: thresholds must rise ({rule['points']} after "
                            f"{thresholds[-1][0]})")
        if rule.get("opens") not in MEASURE_KINDS:
            problems.append(f"thresholds[{n}].opens: one of {list(MEASURE_KINDS)} is required")
        elif any(kind == rule["opens"] for _, kind in thresholds):
            problems.append(f"thresholds[{n}]: {rule['opens']} is opened by two thresholds")
        thresholds.append((rule.get("points"), rule.get("opens")))
    failure = document.get("repeated_failure")
    failure = failure if isinstance(failure, dict) else {}
    if not _whole(failure.get("failures"), 2, 50):
        problems.append("repeated_failure.failures: a whole number 2-50 is required")
    if not _whole(failure.get("within_days"), 1, 3660):
        problems.append("repeated_failure.within_days: a whole number 1-3660 is required")
    if failure.get("opens") not in MEASURE_KINDS:
        problems.append(f"repeated_failure.opens: one of {list(MEASURE_KINDS)} is required")
    if problems:
        raise PointRulesInvalid(f"The point rules are invalid: {'; '.join(problems[:5])}",
                                details={"problems": problems})
    return PointRules(version=document["version"], cycle_months=document["cycle_months"],
                      penalty=penalty, finding=finding, thresholds=tuple(thresholds),
                      failures=failure["failures"], within_days=failure["within_days"],
                      failure_opens=failure["opens"])


@lru_cache(maxsize=8)
def load_rules(path=SHIPPED_RULES):
    """Read and validate a rule file, once per path and process; PointRulesInvalid if wrong."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PointRulesInvalid(f"The point rules file {path} cannot be read: {error}",
                                details={"problems": [str(error)]}) from error
    return validate_rules(document)


def configured_rules():
    """Return the rules of FOLLOWUPS_POINT_RULES (the environment, as the config reads it):
    for the hooks in orders.py, whose callers pass no point rules."""
    return load_rules(os.environ.get("FOLLOWUPS_POINT_RULES") or SHIPPED_RULES)


def lock_premises(session, premises_id):
    """Queue the point and measure counts of one premises behind each other (PostgreSQL)."""
    session.execute(select(Premises.id).where(Premises.id == premises_id).with_for_update())


def cycle_total(session, premises_id, start):
    """Return the points of a premises in the cycle starting on start."""
    return session.scalar(select(func.coalesce(func.sum(PracticePoint.points), 0)).where(
        PracticePoint.premises_id == premises_id, PracticePoint.cycle_start == start))


def accrue(session, actor, premises, *, source_kind, source_id, points, rule, rules, on):
    """Add a source's points to a premises once; open what the cycle total reaches, once.

    Returns the PracticePoint row, or None when that source has accrued before.
    """
    lock_premises(session, premises.id)
    start = cycle_start(on, rules.cycle_months)
    added = insert_ignoring_conflict(session, PracticePoint, {
        "premises_id": premises.id, "cell_id": premises.cell_id, "points": points,
        "source_kind": source_kind, "source_id": source_id, "rule": rule[:200],
        "rules_version": rules.version, "accrued_on": on, "cycle_start": start,
        "created_at": utcnow()})
    if added is None:
        return None
    audit.record(session, actor, "points.accrue", "practice_points", added,
                 after={"premises_id": premises.id, "points": points, "source_kind": source_kind,
                        "source_id": source_id, "cycle_start": start})
    total = cycle_total(session, premises.id, start)
    for threshold, kind in rules.reached(total):
        open_measure(session, actor, premises, kind=kind, source="points",
                     period=f"points:{start.isoformat()}", on=on,
                     reason=f"记分周期内累计{total}分，达到{threshold}分 / {total} points in the "
                            f"cycle from {start}, threshold {threshold}",
                     details={"total": total, "threshold": threshold,
                              "cycle_start": start.isoformat()})
    return session.get(PracticePoint, added)


def accrue_for_order(session, actor, order, *, rules=None):
    """Accrue an issued order's points by its findings' severities (one call from orders.py)."""
    rules = rules or configured_rules()
    points, rule = rules.order_points([finding["severity"] for finding in order.findings])
    return accrue(session, actor, order.premises, source_kind="order", source_id=order.id,
                  points=points, rule=rule, rules=rules, on=order.issued_on)


def points_of(session, premises, *, rules, today):
    """Return the current cycle of a premises: its total, entries and thresholds."""
    start = cycle_start(today, rules.cycle_months)
    entries = session.scalars(select(PracticePoint).where(
        PracticePoint.premises_id == premises.id, PracticePoint.cycle_start == start)
        .order_by(PracticePoint.accrued_on, PracticePoint.id)).all()
    total = sum(entry.points for entry in entries)
    return {"premises_id": premises.id, "cell_id": premises.cell_id, "cycle_start": start,
            "cycle_end": cycle_end(start, rules.cycle_months), "total": total,
            "rules_version": rules.version,
            "thresholds": [{"points": points, "opens": kind, "reached": total >= points}
                           for points, kind in rules.thresholds],
            "entries": entries}
