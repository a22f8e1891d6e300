"""Working-day calendars kept in the database, so an office loads next year's without a deploy."""

from sqlalchemy import select

from server.models import WorkingCalendar
from server.models._types import utcnow
from server.services import audit
from server.services.followups import DATA
from server.services.followups.workdays import Calendar, CalendarMissing, validate_calendar

SHIPPED_CALENDARS = DATA / "calendars"


def load_calendar(session, actor, document, *, source_name=""):
    """Validate a year's calendar and store it, replacing that year's; return (row, outcome).

    outcome: "created", "replaced" or "unchanged" (the same content again).
    """
    year = validate_calendar(document)
    content_hash = audit.digest(document)
    existing = session.get(WorkingCalendar, year.year)
    if existing is not None and existing.content_hash == content_hash:
        return existing, "unchanged"
    before = {"content": existing.content_hash} if existing is not None else None
    if existing is None:
        existing = WorkingCalendar(year=year.year)
        session.add(existing)
    existing.provisional = year.provisional
    existing.source = document["source"]
    existing.document = document
    existing.content_hash = content_hash
    existing.loaded_at = utcnow()
    existing.loaded_by_id = actor.id if actor is not None else None
    session.flush()
    audit.record(session, actor, "calendar.load", "working_calendar", year.year, before=before,
                 after={"content": content_hash},
                 details={"provisional": year.provisional, "file": source_name})
    return existing, "created" if before is None else "replaced"


def stored_calendar(session):
    """Return the Calendar of every stored year (a handful of small rows)."""
    return Calendar(validate_calendar(row.document)
                    for row in session.scalars(select(WorkingCalendar)))


def get_calendar(session, year):
    """Return a year's stored calendar row, or raise CalendarMissing."""
    row = session.get(WorkingCalendar, year)
    if row is None:
        raise CalendarMissing(year)
    return row


def load_shipped_calendars(session, actor=None):
    """Load the shipped calendar files of the years not stored yet; return the outcomes.

    A year already stored is kept: the office may have loaded the official arrangement.
    """
    import json

    outcomes = []
    for path in sorted(SHIPPED_CALENDARS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if session.get(WorkingCalendar, document.get("year")) is not None:
            outcomes.append((document["year"], "kept"))
            continue
        row, outcome = load_calendar(session, actor, document,
                                     source_name=path.name)
        outcomes.append((row.year, outcome))
    return outcomes
