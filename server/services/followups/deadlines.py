"""Default rectification deadlines: a rule table kept as data (server/followups/deadline_rules.json).

A rule gives the working days allowed for a finding of one severity, optionally for one
premises category (which then overrides the general rule). An order's default deadline is
the earliest of its findings' deadlines. Pure: the calendar comes in as an argument.
"""

import json
from functools import lru_cache
from pathlib import Path

from server.errors import ValidationFailed
from server.models.checklists import SEVERITIES
from server.services.followups import DATA
from server.services.followups.workdays import MAX_WORKING_DAYS, add_working_days

SHIPPED_RULES = DATA / "deadline_rules.json"


class RulesInvalid(ValidationFailed):
    code = "deadline_rules_invalid"


class DeadlineRules:
    """Working days by (severity, category); category None is the general rule."""

    def __init__(self, days):
        self.days = dict(days)

    def working_days(self, severity, category):
        """Return the working days allowed for a finding of this severity at this category."""
        return self.days.get((severity, category), self.days[(severity, None)])


def validate_rules(document, known_categories=None):
    """Return the DeadlineRules a rule document describes, or raise RulesInvalid."""
    problems = []
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list):
        raise RulesInvalid("The deadline rules hold no list of rules.",
                           details={"problems": ["rules: a list is required"]})
    if document.get("unit") != "working_days":
        problems.append("unit: only working_days is supported")
    days = {}
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            problems.append(f"{where}: an object is required")
            continue
        severity, category, count = rule.get("severity"), rule.get("category"), rule.get("working_days")
        if severity not in SEVERITIES:
            problems.append(f"{where}: severity must be one of {list(SEVERITIES)}")
        if category is not None and (not isinstance(category, str) or (
                known_categories is not None and category not in known_categories)):
            problems.append(f"{where}: unknown premises category {category!r}")
        if type(count) is not int or not 1 <= count <= MAX_WORKING_DAYS:
            problems.append(f"{where}: working_days must be an integer 1-{MAX_WORKING_DAYS}")
        key = (severity, category)
        if key in days:
            problems.append(f"{where}: a second rule for {severity}/{category or 'any category'}")
        days[key] = count
    missing = [severity for severity in SEVERITIES if (severity, None) not in days]
    if missing:
        problems.append(f"a general rule (no category) is required for {missing}")
    if problems:
        raise RulesInvalid(f"The deadline rules are invalid: {'; '.join(problems[:5])}",
                           details={"problems": problems})
    return DeadlineRules(days)


@lru_cache(maxsize=8)
@lru_cache(maxsize=8)
def load_rules(path=SHIPPED_RULES):
    """Read and validate a rule file, once per path and process (every push and order asks;
    a changed file takes effect at the next restart); RulesInvalid when unreadable or wrong."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RulesInvalid(f"The deadline rules file {path} cannot be read: {error}",
                           details={"problems": [str(error)]}) from error
    return validate_rules(document)


def default_deadline(issued_on, findings, premises, *, rules, calendar):
    """Return the earliest deadline among the findings' rules (findings carry .severity)."""
    if not findings:
        raise ValueError("an order has at least one finding")
    days = min(rules.working_days(finding.severity, premises.category_code) for finding in findings)
    return add_working_days(issued_on, days, calendar)
