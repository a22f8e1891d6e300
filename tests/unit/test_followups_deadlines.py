"""Default deadlines: the earliest of the findings' rules, counted in working days."""

import copy
import json
from datetime import date
from types import SimpleNamespace

import pytest

from server.services.followups.deadlines import (
    SHIPPED_RULES,
    RulesInvalid,
    default_deadline,
    load_rules,
    validate_rules,
)
from server.services.followups.workdays import Calendar, CalendarMissing, YearCalendar

# A plain 2026: weekends off, no holidays (the shipped calendars are tested elsewhere).
PLAIN = Calendar([YearCalendar(2026), YearCalendar(2027)])
CLINIC = SimpleNamespace(category_code="clinic")
SCHOOL = SimpleNamespace(category_code="school")


def findings(*severities):
    return [SimpleNamespace(severity=severity) for severity in severities]


def test_the_shipped_rules_give_key_3_major_15_minor_30_working_days():
    rules = load_rules(SHIPPED_RULES)
    assert [rules.working_days(s, "clinic") for s in ("key", "major", "minor")] == [3, 15, 30]


def test_the_earliest_deadline_among_the_findings_wins():
    rules = load_rules(SHIPPED_RULES)
    monday = date(2026, 3, 2)
    assert default_deadline(monday, findings("minor"), CLINIC, rules=rules,
                            calendar=PLAIN) == date(2026, 4, 13)  # 6 weeks of 5, less the Monday
    assert default_deadline(monday, findings("minor", "key", "major"), CLINIC, rules=rules,
                            calendar=PLAIN) == date(2026, 3, 5)


def test_a_category_rule_overrides_the_general_one():
    rules = load_rules(SHIPPED_RULES)
    assert default_deadline(date(2026, 3, 2), findings("key"), SCHOOL, rules=rules,
                            calendar=PLAIN) == date(2026, 3, 3)
    assert rules.working_days("major", "school") == 15  # no school rule: the general one


def test_a_deadline_into_a_year_without_a_calendar_is_refused():
    rules = load_rules(SHIPPED_RULES)
    with pytest.raises(CalendarMissing) as raised:
        default_deadline(date(2026, 12, 28), findings("minor"), CLINIC, rules=rules,
                         calendar=Calendar([YearCalendar(2026)]))
    assert raised.value.details == {"year": 2027}


def rules_document():
    return json.loads(SHIPPED_RULES.read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, problem", [
    (lambda d: d["rules"].pop(0), "general rule"),
    (lambda d: d["rules"].append({"severity": "key", "working_days": 5}), "second rule"),
    (lambda d: d["rules"].append({"severity": "fatal", "category": "bar", "working_days": 5}),
     "severity"),
    (lambda d: d["rules"][0].update(working_days=0), "working_days"),
    (lambda d: d["rules"][0].update(working_days="3"), "working_days"),
    (lambda d: d.update(unit="calendar_days"), "unit"),
])
def test_the_rules_validator_names_what_is_wrong(change, problem):
    document = copy.deepcopy(rules_document())
    change(document)
    with pytest.raises(RulesInvalid) as raised:
        validate_rules(document)
    assert any(problem in text for text in raised.value.details["problems"]), raised.value.details


def test_an_unknown_category_is_refused_when_the_categories_are_known():
    with pytest.raises(RulesInvalid):
        validate_rules(rules_document(), known_categories={"clinic"})
    assert validate_rules(rules_document(), known_categories={"clinic", "school"})


def test_an_unreadable_rules_file_is_a_clear_error(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RulesInvalid):
        load_rules(path)
