"""The stages of a case (案件) and their time limits: a table kept as data
(server/followups/case_stages.json), pure.

A case moves through the stages in order, one at a time; each stage's due day is counted
when the case enters it, from that day or from the day the case was filed (立案 completed).
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from server.errors import ValidationFailed
from server.models.user import ROLES
from server.services.followups import DATA
from server.services.followups.workdays import MAX_WORKING_DAYS, add_working_days

SHIPPED_STAGES = DATA / "case_stages.json"
UNITS = ("working", "calendar")
STARTS = ("entered", "filed")
COMPLETE_FIELDS = ("decision",)  # what leaving a stage may require
MAX_CALENDAR_DAYS = 366


class StagesInvalid(ValidationFailed):
    code = "case_stages_invalid"


@dataclass(frozen=True)
class Stage:
    name: str
    label: tuple  # (zh, en)
    days: int
    unit: str  # working | calendar
    start: str  # entered | filed
    enter_roles: tuple
    complete_fields: tuple = ()


class CaseStages:
    """The stages in order, and who may open, transfer and close a case."""

    def __init__(self, stages, transfer_roles, close_roles):
        self.stages = tuple(stages)
        self.by_name = {stage.name: stage for stage in self.stages}
        self.transfer_roles = tuple(transfer_roles)
        self.close_roles = tuple(close_roles)

    @property
    def names(self):
        return tuple(stage.name for stage in self.stages)

    @property
    def first(self):
        return self.stages[0]

    @property
    def last(self):
        return self.stages[-1]

    @property
    def open_roles(self):
        return self.first.enter_roles

    @property
    def labels(self):
        return {stage.name: stage.label for stage in self.stages}

    def next_of(self, name):
        """Return the stage after `name`, or None after the last."""
        index = self.names.index(name)
        return self.stages[index + 1] if index + 1 < len(self.stages) else None

    def allowed(self, name, role):
        """Return the stages a role may move a case into from stage `name` (the next, or none)."""
        following = self.next_of(name)
        return [following.name] if following and role in following.enter_roles else []


def due_on(stage, *, entered_on, filed_on, calendar):
    """Return the day a stage entered on `entered_on` is due (filed_on: the case's filing day).

    Working days count on the calendar (the start day not counted; CalendarMissing for a year
    not loaded); calendar days are plain days.
    """
    start = entered_on if stage.start == "entered" else filed_on
    if start is None:
        raise ValueError(f"stage {stage.name} counts from the filing day, and the case is not filed")
    if stage.unit == "working":
        return add_working_days(start, stage.days, calendar)
    return start + timedelta(days=stage.days)


def validate_stages(document):
    """Return the CaseStages a table describes, or raise StagesInvalid listing every problem."""
    if not isinstance(document, dict) or not isinstance(document.get("stages"), list) \
            or not document["stages"]:
        raise StagesInvalid("The case stage table holds no list of stages.",
                            details={"problems": ["stages: a non-empty list is required"]})
    problems = []
    for key in ("version", "note"):
        if key not in document:
            problems.append(f"{key}: required")
    transfer_roles = _roles(document.get("transfer_roles"), "transfer_roles", problems)
    close_roles = _roles(document.get("close_roles"), "close_roles", problems)
    stages, seen = [], set()
    for index, entry in enumerate(document["stages"]):
        where = f"stages[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: an object is required")
            continue
        name = entry.get("stage")
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 24:
            problems.append(f"{where}.stage: a short identifier is required")
        elif name in seen:
            problems.append(f"{where}.stage: {name} is listed twice")
        seen.add(name)
        if not (isinstance(entry.get("zh"), str) and entry["zh"]
                and isinstance(entry.get("en"), str) and entry["en"]):
            problems.append(f"{where}: zh and en labels are required")
        limit = entry.get("limit") if isinstance(entry.get("limit"), dict) else {}
        days, unit, start = limit.get("days"), limit.get("unit"), limit.get("from")
        if unit not in UNITS:
            problems.append(f"{where}.limit.unit must be one of {list(UNITS)}")
        cap = MAX_WORKING_DAYS if unit == "working" else MAX_CALENDAR_DAYS
        if type(days) is not int or not 1 <= days <= cap:
            problems.append(f"{where}.limit.days must be an integer 1-{cap}")
        if start not in STARTS:
            problems.append(f"{where}.limit.from must be one of {list(STARTS)}")
        elif start == "filed" and index == 0:
            problems.append(f"{where}.limit.from: the first stage cannot count from the filing "
                            "it completes; use entered")
        roles = _roles(entry.get("enter_roles"), f"{where}.enter_roles", problems)
        fields = entry.get("complete_fields", [])
        if not isinstance(fields, list) or not set(fields) <= set(COMPLETE_FIELDS):
            problems.append(f"{where}.complete_fields must be some of {list(COMPLETE_FIELDS)}")
            fields = []
        stages.append(Stage(name, (entry.get("zh"), entry.get("en")), days, unit, start,
                            roles, tuple(fields)))
    if len(stages) < 2 and not problems:
        problems.append("stages: a case needs at least two stages (opened, closed)")
    if problems:
        raise StagesInvalid(f"The case stage table is invalid: {'; '.join(problems[:5])}",
                            details={"problems": problems})
    return CaseStages(stages, transfer_roles, close_roles)


def _roles(value, where, problems):
    if not isinstance(value, list) or not value or not all(role in ROLES for role in value):
        problems.append(f"{where} must be a non-empty list of {list(ROLES)}")
        return ()
    return tuple(value)


@lru_cache(maxsize=8)
def load_stages(path=SHIPPED_STAGES):
    """Read and validate a stage table once per path and process; StagesInvalid when wrong."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StagesInvalid(f"The case stage table {path} cannot be read: {error}",
                            details={"problems": [str(error)]}) from error
    return validate_stages(document)
