"""The escalation rule table: the shipped file is valid; bad tables are refused naming why;
which reminder and which levels apply on a given day."""

import json

import pytest

from server.errors import ValidationFailed
from server.services.followups.escalation import SHIPPED_RULES, load_rules, validate_rules


def problems(document):
    with pytest.raises(ValidationFailed) as caught:
        validate_rules(document)
    assert caught.value.code == "escalation_rules_invalid"
    return caught.value.details["problems"]


def test_the_shipped_rules_remind_two_days_before_and_on_the_day_then_escalate():
    rules = load_rules()
    assert rules.remind_days == (2, 0)
    assert rules.escalate == ((3, "street"), (10, "district"))
    assert rules.window == 2
    assert json.loads(SHIPPED_RULES.read_text(encoding="utf-8"))["version"] == 1


@pytest.mark.parametrize("days_overdue, reminder, levels", [
    (-3, None, []), (-2, "before_2", []), (-1, "before_2", []), (0, "before_0", []),
    (1, None, []), (2, None, []), (3, None, ["street"]), (9, None, ["street"]),
    (10, None, ["street", "district"]), (400, None, ["street", "district"]),
])
def test_which_reminder_and_levels_apply_by_days(days_overdue, reminder, levels):
    rules = load_rules()
    assert rules.reminder_level(days_overdue) == reminder
    assert rules.escalation_levels(days_overdue) == levels


@pytest.mark.parametrize("document, problem", [
    ({"remind": [{"days_before": -1}]}, "remind[0].days_before must be a whole number 0..366"),
    ({"remind": [{"days_before": True}]}, "remind[0].days_before must be a whole number 0..366"),
    ({"remind": [{"days_before": 2}, {"days_before": 2}]}, "remind[1]: 2 days before is listed twice"),
    ({"escalate": [{"days_overdue": 0, "level": "street"}]},
     "escalate[0].days_overdue must be a whole number 1..366"),
    ({"escalate": [{"days_overdue": 3, "level": "county"}]},
     "escalate[0].level must be one of ['province', 'city', 'district', 'street', 'community']"),
    ({"escalate": [{"days_overdue": 3, "level": "street"}, {"days_overdue": 5, "level": "street"}]},
     "escalate[1]: level street is listed twice"),
    ({"escalate": [{"days_overdue": 10, "level": "street"}, {"days_overdue": 3, "level": "district"}]},
     "escalate must be in order of days_overdue"),
    ({"escalate": [{"days_overdue": 3, "level": "district"}, {"days_overdue": 10, "level": "street"}]},
     "each escalation must go up the grid (community → street → district → city → province)"),
    ({"remind": {"days_before": 2}}, "remind and escalate must be lists"),
])
def test_bad_tables_are_refused_naming_the_problem(document, problem):
    assert problem in problems(document)


def test_a_city_step_above_the_district_is_accepted():
    rules = validate_rules({"escalate": [{"days_overdue": 3, "level": "street"},
                                         {"days_overdue": 10, "level": "district"},
                                         {"days_overdue": 20, "level": "city"}]})
    assert rules.escalation_levels(20) == ["street", "district", "city"]
    assert rules.escalation_levels(19) == ["street", "district"]


def test_not_an_object_and_unreadable_files_are_refused(tmp_path):
    with pytest.raises(ValidationFailed):
        validate_rules([1, 2])
    path = tmp_path / "rules.json"
    path.write_text("{not json")
    with pytest.raises(ValidationFailed) as caught:
        load_rules(path)
    assert caught.value.code == "escalation_rules_invalid"
