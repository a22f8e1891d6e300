"""`flask followups calendar load FILE | show YEAR`, `flask followups rules check [FILE]`,
`flask followups rules check-escalation [FILE]` and `flask followups sweep`."""

import json
from datetime import date, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from server.db import transaction
from server.errors import AppError
from server.extensions import db
from server.services.followups.calendars import get_calendar, load_calendar
from server.services.followups import escalation
from server.services.followups.deadlines import load_rules
from server.services.followups.workdays import validate_calendar

followups_cli = AppGroup("followups", help="Follow-ups: rectification orders and deadlines (整改复查).")
calendar_cli = AppGroup("calendar", help="The working-day calendar (节假日与调休).")
rules_cli = AppGroup("rules", help="The default deadline rules.")
followups_cli.add_command(calendar_cli)
followups_cli.add_command(rules_cli)


def _fail(error):
    problems = (error.details or {}).get("problems", []) if isinstance(error.details, dict) else []
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    raise click.ClickException(f"{error.code}: {error.message}")


@calendar_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def calendar_load(file):
    """Validate a year's calendar file and store it, replacing that year's."""
    try:
        document = json.loads(Path(file).read_text(encoding="utf-8"))
    except ValueError as error:
        raise click.ClickException(f"{file} is not JSON: {error}") from error
    try:
        with transaction():
            row, outcome = load_calendar(db.session, None, document, source_name=Path(file).name)
            year, provisional = row.year, row.provisional
    except AppError as error:
        _fail(error)
    click.echo(f"{year}: {outcome}" + (" (PROVISIONAL: load the official arrangement when it is "
                                       "published)" if provisional else ""))


@calendar_cli.command("show")
@click.argument("year", type=click.IntRange(2000, 2100))
def calendar_show(year):
    """Print a stored year: its holidays, adjusted working days and where they come from."""
    try:
        row = get_calendar(db.session, year)
    except AppError as error:
        _fail(error)
    document = row.document
    year_calendar = validate_calendar(document)
    click.echo(f"{year}{' (PROVISIONAL)' if row.provisional else ''}: {row.source}")
    click.echo(f"loaded {row.loaded_at.isoformat(timespec='seconds')}")
    for entry in document["holidays"]:
        click.echo(f"  holiday  {entry['from']} … {entry['to']}  {entry['name']}")
    for entry in document["workdays"]:
        click.echo(f"  working  {entry['date']}  {entry.get('name', '')}")
    first, last = date(year, 1, 1), date(year, 12, 31)
    days = (last - first).days + 1
    working = sum(1 for n in range(days) if _working(first + timedelta(n), year_calendar))
    click.echo(f"{working} working days in {year}")


def _working(day, year_calendar):
    if day in year_calendar.workdays:
        return True
    return day not in year_calendar.holidays and day.weekday() < 5


@rules_cli.command("check")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
def rules_check(file):
    """Validate a deadline rule file (by default the configured one) and print its table."""
    path = file or current_app.config["FOLLOWUPS_DEADLINE_RULES"]
    try:
        rules = load_rules(path)
    except AppError as error:
        _fail(error)
    for (severity, category), days in sorted(rules.days.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        click.echo(f"{severity:6} {category or '*':24} {days} working days")


@rules_cli.command("check-escalation")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
def escalation_check(file):
    """Validate an escalation rule file (by default the configured one) and print it."""
    path = file or current_app.config["FOLLOWUPS_ESCALATION_RULES"]
    try:
        rules = escalation.load_rules(path)
    except AppError as error:
        _fail(error)
    for days in rules.remind_days:
        click.echo(f"remind the owners   {days} days before due" if days else
                   "remind the owners   on the due day")
    for days, level in rules.escalate:
        click.echo(f"escalate to {level:9}{days} days overdue")


@followups_cli.command("sweep")
def sweep():
    """Raise the reminders and escalations due today, once each (safe to run every few minutes)."""
    try:
        rules = escalation.load_rules(current_app.config["FOLLOWUPS_ESCALATION_RULES"])
        with transaction():
            counts = escalation.sweep(db.session, None, rules=rules)
    except AppError as error:
        _fail(error)
    click.echo(f"{counts['today']}: {_count(counts['items_read'], 'item')} due or near, "
               f"{_count(counts['reminders'], 'reminder')} and "
               f"{_count(counts['escalations'], 'escalation')} raised, "
               f"{counts['already_raised']} already raised before")


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"
