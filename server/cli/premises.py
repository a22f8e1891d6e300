"""`flask premises import FILE` and `flask checklists load`."""

import json
import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from server.db import transaction
from server.errors import AppError
from server.extensions import db
from server.services.checklists import SHIPPED, load_templates
from server.services.premises import import_premises_csv

premises_cli = AppGroup("premises", help="The premises directory (监管对象名录库).")
checklists_cli = AppGroup("checklists", help="Checklist templates (检查单).")
PROGRESS_MIN_ROWS = 1000


@premises_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--gcj02", is_flag=True, help="Coordinates are GCJ-02 (Chinese map apps); convert "
                                            "to WGS84, which is what is stored.")
@click.option("--partial", is_flag=True, help="Import the good rows even when some are bad.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Write rows done / total to stderr (default: on a terminal, or from "
                   f"{PROGRESS_MIN_ROWS} rows).")
def import_(file, gcj02, partial, as_json, progress):
    """Import premises from a CSV (UTF-8 or GBK); each bad row is reported with its line."""
    data = Path(file).read_bytes()
    try:
        with transaction():
            summary = import_premises_csv(db.session, None, data,
                                          coordinates="gcj02" if gcj02 else "wgs84",
                                          partial=partial, progress=_progress_printer(progress))
    except AppError as error:
        if as_json:
            click.echo(json.dumps({"error": {"code": error.code, "message": error.message,
                                             "details": error.details}}, ensure_ascii=False))
            raise SystemExit(1) from error
        for row in (error.details or {}).get("errors", []) if isinstance(error.details, dict) else []:
            click.echo(f"line {row['line']}: {row.get('column') or '-'}: {row['message']}")
        raise click.ClickException(f"{error.code}: {error.message}") from error
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    for row in summary["errors"]:
        click.echo(f"line {row['line']}: {row.get('column') or '-'}: {row['message']} (skipped)")
    click.echo(f"{summary['created']} created, {summary['updated']} updated, "
               f"{summary['unchanged']} unchanged, {summary['orphans']} in no cell, "
               f"{len(summary['errors'])} error(s); file encoding {summary['encoding']}.")


def _progress_printer(wanted):
    """Return a progress(done, total, phase) that writes rows done / total to stderr.

    On a terminal one line is rewritten; otherwise a line at most every two seconds.
    """
    tty = sys.stderr.isatty()
    last = {"at": 0.0, "phase": None}

    def progress(done, total, phase):
        if wanted is False or (wanted is None and not tty and total // 2 < PROGRESS_MIN_ROWS):
            return
        rows, of = (done, total // 2) if phase == "checked" else (done - total // 2, total // 2)
        now = time.monotonic()
        finished = rows == of
        if not tty and not finished and now - last["at"] < 2 and phase == last["phase"]:
            return
        last.update(at=now, phase=phase)
        line = f"{phase} {rows}/{of} rows"
        click.echo(f"\r{line}" if tty else line, err=True, nl=not tty or finished)

    return progress


@checklists_cli.command("load")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
def load(directory):
    """Load checklist template files (the shipped ones by default); each version once."""
    try:
        with transaction():
            outcomes = load_templates(db.session, directory or SHIPPED)
    except AppError as error:
        raise click.ClickException(error.message) from error
    for code, version, outcome in outcomes:
        click.echo(f"{code} v{version}: {outcome}")
