"""Complaint rules without a database: the feedback due day in working days and the resident ID check."""

import json
from datetime import UTC, date, datetime

import pytest

from server.schemas.complaints import ComplaintCreate, resident_id_valid
from server.services.followups import DATA
from server.services.followups.complaints import due_day
from server.services.followups.workdays import (
    Calendar,
    CalendarMissing,
    validate_calendar,
)


@pytest.fixture
def calendar():
    """The shipped 2026 and 2027 calendars."""
    return Calendar(validate_calendar(json.loads((DATA / "calendars" / f"{year}.json")
                                                 .read_text(encoding="utf-8")))
                    for year in (2026, 2027))


def test_the_due_day_counts_working_days_across_national_day(calendar):
    # Received Wed 30 Sep 2026: 1-7 Oct are 国庆 holidays; Thu 8, Fri 9 and the adjusted
    # working Saturday 10 Oct (调休上班) count 1-3; Sun 11 does not; 12-16, 19-23 Oct count
    # 4-13; Mon 26 and Tue 27 Oct are the 14th and 15th.
    received = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
    assert due_day(received, 15, calendar) == date(2026, 10, 27)
    assert due_day(received, 3, calendar) == date(2026, 10, 10)  # the 调休 Saturday counts
    assert due_day(received, 4, calendar) == date(2026, 10, 12)  # the Sunday does not
    assert due_day(received, 0, calendar) == date(2026, 9, 30)


def test_the_due_day_crosses_the_year_and_new_years_day(calendar):
    # Thu 24 Dec 2026: 25, 28-31 Dec count 1-5; 1 Jan 2027 is a holiday; 4-15 Jan: 6-15.
    assert due_day(datetime(2026, 12, 24, 12, 0, tzinfo=UTC), 15, calendar) == date(2027, 1, 15)


def test_a_year_without_a_calendar_is_refused_not_guessed(calendar):
    with pytest.raises(CalendarMissing) as raised:
        due_day(datetime(2027, 12, 20, 12, 0, tzinfo=UTC), 15, calendar)
    assert raised.value.year == 2028
    assert raised.value.code == "calendar_missing"


@pytest.mark.parametrize("number, valid", [
    ("11010519491231002X", True), ("11010519491231002x", True), ("110105194912310021", False),
    ("1101051949123100２X", False), ("11010519491231002", False), ("A1010519491231002X", False),
])
def test_a_resident_id_number_needs_its_check_character(number, valid):
    assert resident_id_valid(number) is valid


def test_a_real_name_complaint_without_a_complainant_is_refused_by_its_shape():
    errors = ComplaintCreate().validate({"channel": "web", "category_code": "other",
                                         "content": "x", "address": "y", "anonymous": False})
    assert set(errors) == {"complainant"}
