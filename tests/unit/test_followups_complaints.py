"""Complaint rules without a database: the feedback due day and the resident ID check."""

from datetime import UTC, date, datetime

import pytest

from server.schemas.complaints import ComplaintCreate, resident_id_valid
from server.services.followups.complaints import days_after


def test_the_due_day_counts_calendar_days_from_the_day_received():
    received = datetime(2026, 12, 24, 12, 0, tzinfo=UTC)
    assert days_after(received, 15) == date(2027, 1, 8)
    assert days_after(received, 0) == date(2026, 12, 24)


def test_the_due_day_crosses_a_leap_day():
    assert days_after(datetime(2028, 2, 20, 12, 0, tzinfo=UTC), 15) == date(2028, 3, 6)


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
