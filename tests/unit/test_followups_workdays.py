"""The working-day calendar: holidays, adjusted working days (调休), and refusing unknown years."""

import copy
import json
from datetime import date

import pytest

from server.services.followups import DATA
from server.services.followups.workdays import (
    Calendar,
    CalendarInvalid,
    CalendarMissing,
    add_working_days,
    is_working_day,
    validate_calendar,
)


def shipped(year):
    return json.loads((DATA / "calendars" / f"{year}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def calendar():
    return Calendar([validate_calendar(shipped(2026)), validate_calendar(shipped(2027))])


def test_the_shipped_calendars_are_valid_and_2027_is_marked_provisional():
    assert validate_calendar(shipped(2026)).provisional is False
    provisional = validate_calendar(shipped(2027))
    assert provisional.provisional is True and provisional.workdays == frozenset()
    assert "official" in shipped(2027)["note"] or "State Council" in shipped(2027)["note"]


@pytest.mark.parametrize("day, working", [
    (date(2026, 1, 2), False),   # Friday, New Year holiday
    (date(2026, 1, 4), True),    # Sunday, adjusted working day
    (date(2026, 1, 5), True),    # an ordinary Monday
    (date(2026, 1, 10), False),  # an ordinary Saturday
    (date(2026, 2, 14), True),   # Saturday before the Spring Festival, adjusted working day
    (date(2026, 2, 23), False),  # Monday, last day of the Spring Festival holiday
    (date(2026, 10, 10), True),  # Saturday after National Day, adjusted working day
    (date(2027, 2, 8), False),   # Monday, third day of the 2027 Spring Festival (provisional)
    (date(2027, 6, 9), False),   # Wednesday, Dragon Boat 2027 (provisional)
])
def test_is_working_day(calendar, day, working):
    assert is_working_day(day, calendar) is working


def test_counting_across_a_holiday_and_an_adjusted_working_day(calendar):
    # Thursday 12 Feb 2026: Fri 13 (1), Sat 14 adjusted (2), then 15-23 off, Tue 24 (3).
    assert add_working_days(date(2026, 2, 12), 3, calendar) == date(2026, 2, 24)
    # Wednesday 30 Sep 2026: the National Day week is off, Sat 10 Oct is a working day.
    assert add_working_days(date(2026, 9, 30), 1, calendar) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 30), 3, calendar) == date(2026, 10, 10)


def test_the_start_day_is_not_counted(calendar):
    assert add_working_days(date(2026, 3, 2), 1, calendar) == date(2026, 3, 3)
    assert add_working_days(date(2026, 3, 2), 0, calendar) == date(2026, 3, 2)


def test_counting_into_a_year_without_a_calendar_is_refused(calendar):
    with pytest.raises(CalendarMissing) as raised:
        add_working_days(date(2027, 12, 28), 10, calendar)
    assert raised.value.code == "calendar_missing" and raised.value.details == {"year": 2028}
    with pytest.raises(CalendarMissing):
        is_working_day(date(2025, 12, 31), calendar)


def test_an_empty_calendar_knows_no_working_day():
    with pytest.raises(CalendarMissing):
        add_working_days(date(2026, 3, 2), 1, Calendar())


def broken(change):
    document = copy.deepcopy(shipped(2026))
    change(document)
    return document


@pytest.mark.parametrize("change, problem", [
    (lambda d: d["holidays"].append({"name": "x", "from": "2027-01-01", "to": "2027-01-01"}),
     "not in 2026"),
    (lambda d: d["workdays"].append({"date": "2026-02-16", "name": "x"}), "also a holiday"),
    (lambda d: d["workdays"].append({"date": "2026-03-04", "name": "x"}), "is a weekday"),
    (lambda d: d["holidays"].append({"name": "x", "from": "2026-03-05", "to": "2026-03-04"}),
     "'to' is before 'from'"),
    (lambda d: d["holidays"].append({"name": "x", "from": "2026-10-07", "to": "2026-10-08"}),
     "already in"),
    (lambda d: d["holidays"].append({"name": "x", "from": "2026-02-30", "to": "2026-03-01"}),
     "not a date"),
    (lambda d: d.update(provisional="no"), "provisional"),
    (lambda d: d.update(source=""), "source"),
])
def test_the_validator_names_what_is_wrong(change, problem):
    with pytest.raises(CalendarInvalid) as raised:
        validate_calendar(broken(change))
    assert raised.value.code == "calendar_invalid"
    assert any(problem in text for text in raised.value.details["problems"]), raised.value.details


def test_a_calendar_without_a_year_is_refused():
    with pytest.raises(CalendarInvalid):
        validate_calendar(broken(lambda d: d.pop("year")))
