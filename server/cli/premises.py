"""`flask premises import FILE` and `flask checklists load`."""

import json
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


@premises_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--gcj02", is_flag=True, help="Coordinates are GCJ-02 (Chinese map apps); convert "
                                            "to WGS84, which is what is stored.")
@click.option("--partial", is_flag=True, help="Import the good rows even when some are bad.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_(file, gcj02, partial, as_json):
    """Import premises from a CSV (UTF-8 or GBK); each bad row is reported with its line."""
    data = Path(file).read_bytes()
    try:
        with transaction():
            summary = import_premises_csv(db.session, None, data,
                                          coordinates="gcj02" if gcj02 else "wgs84",
                                          partial=partial)
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
