"""`flask demo load`: the demo map and users, once."""

import click
from flask import current_app
from flask.cli import AppGroup

from server.db import transaction
from server.extensions import db
from server.services.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from server.services.followups.cases import CaseNumbering

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def load():
    """Load Wuhai's demo grid and staff; safe to run again."""
    with transaction():
        summary = load_demo(db.session,
                            case_numbering=CaseNumbering.from_config(current_app.config))
    if summary["map"]:
        click.echo(f"Loaded the demo grid map {summary['map_id']} (乌海市 over its 3 districts).")
    else:
        click.echo(f"Demo grid map {summary['map_id']} is already there.")
    click.echo(f"Demo users created: {', '.join(summary['users']) or 'none (already there)'}.")
    click.echo(f"Demo premises created: {summary['premises']} (each with a routine patrol task); "
               "checklist templates loaded.")
    followups = {"created": "created: rectification orders issued, due for recheck, passed and "
                            "failed by recheck inspections, escalated, and one overdue; a "
                            "real-name complaint awaiting its answer; the escalated order's case "
                            "at 调查取证; a penalty with its post-penalty recheck scheduled and "
                            "its publication pending; interview warnings (约谈)",
                 "present": "already there"}
    click.echo(f"Demo follow-ups {followups.get(summary['followups'], summary['followups'])}.")
    click.echo("Demo logins (password for all: " + DEMO_PASSWORD + "):")
    for username, role, display_name, _ in DEMO_USERS:
        click.echo(f"  {username:22} {role:12} {display_name}")
