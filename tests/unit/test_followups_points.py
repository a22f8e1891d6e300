"""The point rule table (不良执业行为记分): the shipped file is valid and says it is no
national table; bad tables are refused naming why; points, cycles and thresholds, pure."""

import copy
import json
from datetime import date

import pytest

from server.services.followups.points import (
    SHIPPED_RULES,
    PointRulesInvalid,
    cycle_end,
    cycle_start,
    load_rules,
    validate_rules,
)

SHIPPED = json.loads(SHIPPED_RULES.read_text(encoding="utf-8"))


def problems(change):
    document = copy.deepcopy(SHIPPED)
    change(document)
    with pytest.raises(PointRulesInvalid) as caught:
        validate_rules(document)
    assert caught.value.code == "point_rules_invalid"
    assert caught.value.status == 422
    return caught.value.details["problems"]


def test_the_shipped_rules_are_valid_and_say_offices_must_adopt_their_own():
    rules = load_rules()
    assert rules.version == SHIPPED["version"] == 1
    assert "no national" in SHIPPED["note"].lower() or "NO national" in SHIPPED["note"]
    assert rules.cycle_months == 12
    assert rules.thresholds == ((12, "interview_warning"), (18, "key_supervision_proposal"),
                                (24, "deferred_validation"))
    assert (rules.failures, rules.within_days, rules.failure_opens) == (2, 365, "interview_warning")


def test_points_by_penalty_type_and_by_the_findings_of_an_order():
    rules = load_rules()
    assert rules.penalty_points("fine") == (6, "penalty:fine")
    assert rules.order_points(["minor", "key", "key"]) == (7, "finding:key×2+minor×1")
    assert rules.order_points(["major"]) == (2, "finding:major×1")


@pytest.mark.parametrize("total, reached", [
    (0, []), (11, []), (12, ["interview_warning"]), (17, ["interview_warning"]),
    (18, ["interview_warning", "key_supervision_proposal"]),
    (99, ["interview_warning", "key_supervision_proposal", "deferred_validation"]),
])
def test_the_thresholds_a_total_reaches(total, reached):
    assert [kind for _, kind in load_rules().reached(total)] == reached


@pytest.mark.parametrize("day, months, start, end", [
    (date(2026, 12, 31), 12, date(2026, 1, 1), date(2026, 12, 31)),
    (date(2026, 1, 1), 12, date(2026, 1, 1), date(2026, 12, 31)),
    (date(2026, 8, 15), 6, date(2026, 7, 1), date(2026, 12, 31)),
    (date(2026, 2, 28), 3, date(2026, 1, 1), date(2026, 3, 31)),
    (date(2028, 2, 29), 1, date(2028, 2, 1), date(2028, 2, 29)),
])
def test_cycles_tile_the_year_from_the_first_of_january(day, months, start, end):
    assert cycle_start(day, months) == start
    assert cycle_end(start, months) == end


def test_a_table_that_is_not_an_object_is_refused():
    with pytest.raises(PointRulesInvalid):
        validate_rules([])


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("note"), "note: say whose table this is (there is no national one)"),
    (lambda d: d.update(version=0), "version: a whole number from 1 is required"),
    (lambda d: d.update(cycle_months=5), "cycle_months: one of [1, 2, 3, 4, 6, 12] is required"),
    (lambda d: d.update(cycle_months=True), "cycle_months: one of [1, 2, 3, 4, 6, 12] is required"),
    (lambda d: d["points"]["penalty"].pop("fine"),
     "points.penalty.fine: a whole number 0-100 is required"),
    (lambda d: d["points"]["penalty"].update(caution=1),
     "points.penalty.caution: unknown (known: ['warning', 'fine', 'confiscation', "
     "'suspension', 'licence_revocation'])"),
    (lambda d: d["points"]["finding"].update(key=-1),
     "points.finding.key: a whole number 0-100 is required"),
    (lambda d: d["points"].pop("finding"),
     "points.finding: an object of points by ['minor', 'major', 'key'] is required"),
    (lambda d: d.update(thresholds=[]), "thresholds: a non-empty list is required"),
    (lambda d: d["thresholds"][1].update(points=12),
     "thresholds[1]: thresholds must rise (12 after 12)"),
    (lambda d: d["thresholds"][1].update(opens="interview_warning"),
     "thresholds[1]: interview_warning is opened by two thresholds"),
    (lambda d: d["thresholds"][0].update(opens="fine"),
     "thresholds[0].opens: one of ['interview_warning', 'deferred_validation', "
     "'key_supervision_proposal'] is required"),
    (lambda d: d["repeated_failure"].update(failures=1),
     "repeated_failure.failures: a whole number 2-50 is required"),
    (lambda d: d["repeated_failure"].update(within_days="365"),
     "repeated_failure.within_days: a whole number 1-3660 is required"),
    (lambda d: d.pop("repeated_failure"),
     "repeated_failure.opens: one of ['interview_warning', 'deferred_validation', "
     "'key_supervision_proposal'] is required"),
])
def test_a_wrong_table_is_refused_naming_the_problem(change, problem):
    assert problem in problems(change)


def test_an_unreadable_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "points.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(PointRulesInvalid) as caught:
        load_rules(path)
    assert str(path) in caught.value.message
