"""`flask sync prune`: drop old change-feed events that delta pulls no longer need, old
refused push records, and the partial photo uploads that were never finished."""

import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from server.db import transaction
from server.extensions import db
from server.models._types import utcnow
from server.services import audit
from server.services.changes import prune_feed
from server.services.push import prune_rejected

sync_cli = AppGroup("sync", help="Terminal sync: the change feed that pulls read.")


@sync_cli.command("prune")
@click.option("--older-than-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="Delete events older than this many days.")
def prune(older_than_days):
    """Delete old feed events (terminals with an older cursor get 410 and resync), the refused
    push records kept longer than REJECTED_RECORDS_RETENTION_DAYS, and partial photo uploads
    untouched for PHOTO_PARTIAL_MAX_AGE_HOURS or empty."""
    now = utcnow()
    older_than = now - timedelta(days=older_than_days)
    kept_days = int(current_app.config["REJECTED_RECORDS_RETENTION_DAYS"])
    with transaction():
        pruned = prune_feed(db.session, None, older_than=older_than)
        rejected = prune_rejected(db.session, older_than=now - timedelta(days=kept_days))
        if rejected:
            audit.record(db.session, None, "sync.prune_rejected", "rejected_records", "-",
                         details={"deleted": rejected, "retention_days": kept_days})
    if not pruned.events_deleted:
        click.echo(f"Nothing to prune: no feed event is older than {older_than:%Y-%m-%d %H:%M} UTC.")
    else:
        click.echo(f"Pruned {pruned.events_deleted} feed event(s) up to number "
                   f"{pruned.pruned_through_seq}; terminals with an older cursor will resync.")
    if rejected:
        click.echo(f"Deleted {rejected} refused push record(s) kept longer than {kept_days} days.")
    hours = current_app.config["PHOTO_PARTIAL_MAX_AGE_HOURS"]
    partials = current_app.extensions["photo_store"].prune_partials(
        older_than=time.time() - hours * 3600)
    click.echo(f"Deleted {partials} partial photo upload(s) empty or untouched for {hours} h.")
