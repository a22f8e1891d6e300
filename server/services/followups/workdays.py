"""The working-day calendar: public holidays and adjusted working days (调休), pure.

A year is known only when its calendar is loaded: counting into a year without one raises
CalendarMissing rather than treating every weekday as a working day.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from server.errors import ValidationFailed

MAX_WORKING_DAYS = 366  # a deadline is at most a year away


class CalendarMissing(ValidationFailed):
    code = "calendar_missing"

    def __init__(self, year):
        super().__init__(f"No working-day calendar is loaded for {year}; load it with "
                         f"`flask followups calendar load FILE`.", details={"year": year})
        self.year = year


class CalendarInvalid(ValidationFailed):
    code = "calendar_invalid"


@dataclass(frozen=True)
class YearCalendar:
    """One year's days off that would be working days, and working days that would be off."""

    year: int
    holidays: frozenset = field(default_factory=frozenset)
    workdays: frozenset = field(default_factory=frozenset)
    provisional: bool = False


class Calendar:
    """The loaded years; asking about any other year raises CalendarMissing."""

    def __init__(self, years=()):
        self.years = {year.year: year for year in years}

    def year(self, number):
        try:
            return self.years[number]
        except KeyError:
            raise CalendarMissing(number) from None


def is_working_day(day, calendar):
    """Tell whether a day is a working day: a weekday not a holiday, or an adjusted weekend."""
    year = calendar.year(day.year)
    if day in year.workdays:
        return True
    if day in year.holidays:
        return False
    return day.weekday() < 5


def add_working_days(start, n, calendar):
    """Return the day n working days after start (start itself not counted: 期间开始之日不计算在内)."""
    if not 0 <= n <= MAX_WORKING_DAYS:
        raise ValueError(f"working days must be 0 … {MAX_WORKING_DAYS}")
    calendar.year(start.year)
    day, left = start, n
    while left:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            left -= 1
    return day


def validate_calendar(document):
    """Return the YearCalendar a calendar document describes, or raise CalendarInvalid.

    Checks: a year; every date a real date of that year; ranges in order and not overlapping;
    no day both a holiday and an adjusted working day; adjusted working days on weekends.
    """
    problems = []
    if not isinstance(document, dict):
        raise CalendarInvalid("A calendar is a JSON object.", details={"problems": ["not an object"]})
    year = document.get("year")
    if type(year) is not int or not 2000 <= year <= 2100:
        raise CalendarInvalid("The calendar names no year (2000-2100).",
                              details={"problems": ["year: an integer 2000-2100 is required"]})
    for key in ("provisional",):
        if type(document.get(key)) is not bool:
            problems.append(f"{key}: true or false is required")
    if not isinstance(document.get("source"), str) or not document["source"].strip():
        problems.append("source: say where the arrangement comes from")
    holidays, workdays = {}, {}
    for index, entry in enumerate(_list(document, "holidays", problems)):
        where = f"holidays[{index}]"
        first, last = _day(entry, "from", year, where, problems), _day(entry, "to", year, where, problems)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            problems.append(f"{where}: a name is required")
        if first is None or last is None:
            continue
        if last < first:
            problems.append(f"{where}: 'to' is before 'from'")
            continue
        day = first
        while day <= last:
            if day in holidays:
                problems.append(f"{where}: {day} is already in {holidays[day]}")
            holidays.setdefault(day, where)
            day += timedelta(days=1)
    for index, entry in enumerate(_list(document, "workdays", problems)):
        where = f"workdays[{index}]"
        day = _day(entry, "date", year, where, problems)
        if day is None:
            continue
        if day in workdays:
            problems.append(f"{where}: {day} is given twice")
        if day in holidays:
            problems.append(f"{where}: {day} is also a holiday ({holidays[day]})")
        if day.weekday() < 5:
            problems.append(f"{where}: {day} is a weekday; only weekend days are adjusted "
                            "working days")
        workdays[day] = where
    if problems:
        raise CalendarInvalid(f"The {year} calendar is invalid: {'; '.join(problems[:5])}",
                              details={"year": year, "problems": problems})
    return YearCalendar(year=year, holidays=frozenset(holidays), workdays=frozenset(workdays),
                        provisional=document["provisional"])


def _list(document, key, problems):
    value = document.get(key)
    if not isinstance(value, list):
        problems.append(f"{key}: a list is required")
        return []
    return value


def _day(entry, key, year, where, problems):
    if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
        problems.append(f"{where}: {key} must be a date YYYY-MM-DD")
        return None
    try:
        day = date.fromisoformat(entry[key])
    except ValueError:
        problems.append(f"{where}: {key} {entry[key]!r} is not a date YYYY-MM-DD")
        return None
    if day.year != year:
        problems.append(f"{where}: {day} is not in {year}")
        return None
    return day
