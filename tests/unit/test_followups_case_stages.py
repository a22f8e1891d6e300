"""The case stage table (server/followups/case_stages.json): validator and due days, no database."""

import copy
import json
from datetime import date

import pytest

from server.services.followups.case_stages import (
    SHIPPED_STAGES,
    StagesInvalid,
    due_on,
    load_stages,
    validate_stages,
)
from server.services.followups.workdays import Calendar, CalendarMissing, YearCalendar

# A plain 2026: weekends off, no holidays (the shipped calendars are tested elsewhere).
PLAIN = Calendar([YearCalendar(2026)])
SHIPPED = json.loads(SHIPPED_STAGES.read_text(encoding="utf-8"))


def test_the_shipped_table_has_the_six_stages_in_order():
    stages = load_stages()
    assert stages.names == ("filing", "investigation", "notification", "decision", "execution",
                            "closing")
    assert [stage.label[0] for stage in stages.stages] == ["立案", "调查取证", "告知", "决定",
                                                         "执行", "结案"]
    assert stages.by_name["decision"].complete_fields == ("decision",)
    assert (stages.by_name["decision"].days, stages.by_name["decision"].unit,
            stages.by_name["decision"].start) == (90, "calendar", "filed")


def test_only_the_next_stage_is_allowed_and_only_to_its_roles():
    stages = load_stages()
    assert stages.allowed("filing", "officer") == ["investigation"]
    assert stages.allowed("decision", "officer") == []  # execution needs a supervisor
    assert stages.allowed("decision", "supervisor") == ["execution"]
    assert stages.allowed("closing", "admin") == []
    assert stages.allowed("filing", "coordinator") == []
    assert stages.open_roles == ("admin", "supervisor", "officer")


def test_working_days_count_from_the_day_entered_not_counting_it():
    filing = load_stages().by_name["filing"]  # 7 working days
    assert due_on(filing, entered_on=date(2026, 3, 2), filed_on=None,
                  calendar=PLAIN) == date(2026, 3, 11)  # Mon → Wed of the next week


def test_calendar_days_count_from_the_filing_day():
    decision = load_stages().by_name["decision"]  # 90 calendar days from filing
    assert due_on(decision, entered_on=date(2026, 5, 20), filed_on=date(2026, 3, 2),
                  calendar=PLAIN) == date(2026, 5, 31)


def test_a_stage_counted_from_filing_needs_the_filing_day():
    with pytest.raises(ValueError):
        due_on(load_stages().by_name["investigation"], entered_on=date(2026, 3, 2),
               filed_on=None, calendar=PLAIN)


def test_working_days_into_a_year_without_a_calendar_are_refused():
    with pytest.raises(CalendarMissing):
        due_on(load_stages().by_name["filing"], entered_on=date(2026, 12, 28), filed_on=None,
               calendar=PLAIN)


def broken(change):
    document = copy.deepcopy(SHIPPED)
    change(document)
    return document


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("note"), "note: required"),
    (lambda d: d.pop("version"), "version: required"),
    (lambda d: d["stages"][1].update(stage="filing"), "listed twice"),
    (lambda d: d["stages"][0].update(zh=""), "zh and en labels"),
    (lambda d: d["stages"][0]["limit"].update(unit="lunar"), "limit.unit"),
    (lambda d: d["stages"][0]["limit"].update(days=0), "limit.days"),
    (lambda d: d["stages"][0]["limit"].update(days=True), "limit.days"),
    (lambda d: d["stages"][3]["limit"].update(days=400), "limit.days must be an integer 1-366"),
    (lambda d: d["stages"][0]["limit"].update({"from": "filed"}), "first stage cannot count"),
    (lambda d: d["stages"][2]["limit"].update({"from": "discovered"}), "limit.from"),
    (lambda d: d["stages"][2].update(enter_roles=["mayor"]), "enter_roles"),
    (lambda d: d["stages"][2].update(complete_fields=["fine"]), "complete_fields"),
    (lambda d: d.update(transfer_roles=[]), "transfer_roles"),
    (lambda d: d.update(close_roles="admin"), "close_roles"),
    (lambda d: d.update(stages=d["stages"][:1]), "at least two stages"),
])
def test_the_validator_names_each_problem(change, problem):
    with pytest.raises(StagesInvalid) as error:
        validate_stages(broken(change))
    assert error.value.code == "case_stages_invalid"
    assert any(problem in text for text in error.value.details["problems"]), \
        error.value.details


@pytest.mark.parametrize("document", [None, [], {}, {"stages": []}, {"stages": "all"}])
def test_a_document_without_stages_is_refused(document):
    with pytest.raises(StagesInvalid):
        validate_stages(document)


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "stages.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StagesInvalid) as error:
        load_stages(path)
    assert "cannot be read" in error.value.message
