"""`flask grid validate|import|activate|subdivide|lookup|maps`."""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from grid_maps import GeoJSONError
from server.db import checkpoint, transaction
from server.errors import AppError
from server.extensions import db
from server.models import GridCell, GridMap
from server.models.grid import LEVELS
from server.services import grid as grid_service
from server.services.lookup import locate

MAP_ID = click.IntRange(1, 2**31 - 1)
grid_cli = AppGroup("grid", help="Grid maps: validate, import, activate, subdivide.")


def file_options(command):
    """Add the options naming feature properties."""
    command = click.option("--code-property", default="code", show_default=True,
                           help="Feature property holding the cell code.")(command)
    command = click.option("--name-property", default="name", show_default=True,
                           help="Feature property holding the cell name.")(command)
    command = click.option("--parent-property", default=None,
                           help="Feature property holding the parent cell's code "
                                "(otherwise parents are found by containment).")(command)
    command = click.option("--tolerance", "tolerance_m2", type=click.FloatRange(min=0, max=1e9),
                           default=None,
                           help="Slivers below this area (m²) are warnings, not errors.")(command)
    command = click.option("--repair", is_flag=True,
                           help="Repair invalid geometry and snap/clip to parents; "
                                "the report lists every repair.")(command)
    return command


def _tolerance(value):
    return value if value is not None else current_app.config["SLIVER_TOLERANCE_M2"]


def echo_report(report, as_json):
    """Print a validation report for people, or as JSON for scripts."""
    data = report if isinstance(report, dict) else report.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for kind in ("errors", "warnings", "repairs"):
        for item in data[kind]:
            where = item.get("cell_code") or item.get("feature_index") or ""
            point = item.get("point")
            at = f" at {point[0]:.6f},{point[1]:.6f}" if point else ""
            label = kind[:-1].upper() if kind != "repairs" else "REPAIRED"
            click.echo(f"{label:8} {item.get('code') or item.get('action')} [{where}]{at}: "
                       f"{item['message']}")
    click.echo(f"{data['cell_count']} cell(s), {len(data['errors'])} error(s), "
               f"{len(data['warnings'])} warning(s), {len(data['repairs'])} repair(s).")


def _read(path):
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise click.ClickException(f"Cannot read {path}: {error.strerror}") from error


@grid_cli.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@file_options
@click.option("--parent-file", type=click.Path(dir_okay=False),
              help="GeoJSON of the parent level to check this level against.")
@click.option("--parent-code-property", default="code", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate(file, code_property, name_property, parent_property, tolerance_m2, repair,
             parent_file, parent_code_property, as_json):
    """Check a GeoJSON file of cells; exit 1 when it has errors. Stores nothing."""
    from grid_maps import read_feature_collection

    parents = None
    try:
        if parent_file:
            features, _ = read_feature_collection(_read(parent_file),
                                                  code_property=parent_code_property)
            parents = {f.code: f.geometry for f in features if f.code and f.geometry is not None}
        _, report = grid_service.check_file(
            _read(file), code_property=code_property, name_property=name_property,
            parent_property=parent_property, parents=parents,
            link="code" if parent_property else "containment",
            tolerance_m2=_tolerance(tolerance_m2), repair=repair)
    except GeoJSONError as error:
        _fail_file(error.code, error.message, as_json)
    except AppError as error:
        _fail_file(error.code, error.message, as_json)
    echo_report(report, as_json)
    if not report.ok:
        raise SystemExit(1)


def _fail_file(code, message, as_json):
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"code": code, "message": message}},
                              ensure_ascii=False))
        raise SystemExit(1)
    raise click.ClickException(f"{code}: {message}")


def _draft_for(jurisdiction, map_name, map_id):
    if map_id is not None:
        grid_map = db.session.get(GridMap, map_id)
        if grid_map is None:
            raise click.ClickException(f"Map {map_id} not found.")
        return grid_map
    if not jurisdiction:
        raise click.ClickException("Give --map ID or --jurisdiction CODE.")
    grid_map = db.session.scalar(
        select(GridMap).where(GridMap.jurisdiction_code == jurisdiction, GridMap.status == "draft")
        .order_by(GridMap.version.desc()))
    return grid_map or grid_service.create_map(db.session, jurisdiction_code=jurisdiction,
                                               name=map_name or jurisdiction)


@grid_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--level", required=True, type=click.Choice(LEVELS))
@file_options
@click.option("--map", "map_id", type=MAP_ID, help="Draft map to import into.")
@click.option("--jurisdiction", help="Jurisdiction code; uses its draft or starts one.")
@click.option("--map-name", help="Name of a new draft map.")
@click.option("--levels", "levels", help="The map's levels, top first, comma-separated "
              "(e.g. city,district,street,community); first import only.")
@click.option("--root-code", help="Put one root cell of this code above the imported level "
              "(first import only); its geometry is the union of the file's cells.")
@click.option("--root-name", help="The root cell's name (e.g. 乌海市).")
@click.option("--root-level", type=click.Choice(LEVELS), help="The root cell's level.")
@click.option("--json", "as_json", is_flag=True)
def import_(file, level, code_property, name_property, parent_property, tolerance_m2, repair,
            map_id, jurisdiction, map_name, levels, root_code, root_name, root_level, as_json):
    """Import one level of cells into a draft map; with any error nothing is stored."""
    data = _read(file)
    root = None
    if root_code or root_name or root_level:
        if not (root_code and root_name and root_level):
            raise click.UsageError("Give --root-code, --root-name and --root-level together.")
        root = {"code": root_code, "name": root_name, "level": root_level}
    levels = [code.strip() for code in levels.split(",")] if levels else None
    try:
        with transaction():
            grid_map = _draft_for(jurisdiction, map_name, map_id)
            report = grid_service.import_level(
                db.session, grid_map, data, level=level, code_property=code_property,
                name_property=name_property, parent_property=parent_property,
                tolerance_m2=_tolerance(tolerance_m2), repair=repair, root=root, levels=levels)
    except AppError as error:
        if as_json:
            click.echo(json.dumps({"ok": False, "error": {"code": error.code,
                                                          "message": error.message},
                                   "report": error.details}, ensure_ascii=False, indent=2))
            raise SystemExit(1) from error
        if isinstance(error.details, dict) and "errors" in error.details:
            echo_report(error.details, as_json)
        raise click.ClickException(error.message) from error
    echo_report(report, as_json)
    if not as_json:
        above = f" under the {root_level} {root_name} ({root_code})" if root else ""
        click.echo(f"Imported {report.cell_count} {level} cell(s){above} into draft map "
                   f"{grid_map.id}.")


@grid_cli.command("activate")
@click.argument("map_id", type=MAP_ID)
@click.option("--tolerance", "tolerance_m2", type=click.FloatRange(min=0, max=1e9), default=None)
def activate(map_id, tolerance_m2):
    """Activate a valid draft map; the previous version is retired."""
    grid_map = db.session.get(GridMap, map_id)
    if grid_map is None:
        raise click.ClickException(f"Map {map_id} not found.")
    try:
        with transaction():
            result = grid_service.activate_map(db.session, grid_map,
                                               tolerance_m2=_tolerance(tolerance_m2),
                                               after_batch=_commit_batch)
    except AppError as error:
        if isinstance(error.details, dict) and "errors" in error.details:
            echo_report(error.details, False)
        raise click.ClickException(error.message) from error
    click.echo(f"Map {map_id} is active; retired {result['retired'] or 'none'}; "
               f"{result['assignments_moved']} assignment(s) moved, "
               f"{len(result['assignments_unmatched'])} without a matching cell.")


def _commit_batch(done, total):
    """Commit each batch of re-derived premises and say how far it got (stderr)."""
    checkpoint()
    click.echo(f"premises re-derived: {done}/{total}", err=True)


@grid_cli.command("subdivide")
@click.argument("cell_code")
@click.option("--map", "map_id", type=MAP_ID, required=True)
@click.option("--parts", type=click.IntRange(1, 999), required=True)
def subdivide(cell_code, map_id, parts):
    """Cut a cell of a draft map into PARTS child cells that tile it exactly."""
    cell = db.session.scalar(select(GridCell).where(GridCell.map_id == map_id,
                                                    GridCell.code == cell_code))
    if cell is None:
        raise click.ClickException(f"Cell {cell_code} not found in map {map_id}.")
    try:
        with transaction():
            children = grid_service.subdivide_cell(db.session, cell, parts)
    except AppError as error:
        raise click.ClickException(error.message) from error
    for child in children:
        click.echo(f"{child.code}\t{child.name}\t{child.area_m2 / 1e6:.2f} km²")


@grid_cli.command("lookup")
@click.argument("lon", type=click.FloatRange(-180, 180))
@click.argument("lat", type=click.FloatRange(-90, 90))
def lookup(lon, lat):
    """Print the lowest active cell covering a WGS84 point."""
    cell_id = locate(db.session, lon, lat)
    if cell_id is None:
        click.echo("No cell covers that point.")
        raise SystemExit(1)
    cell = db.session.get(GridCell, cell_id)
    click.echo(f"{cell.code}\t{cell.name}\t{cell.level}\tmap {cell.map_id}")


@grid_cli.command("maps")
def maps():
    """List grid maps and their versions."""
    for grid_map in db.session.scalars(select(GridMap).order_by(GridMap.id)):
        count = grid_map.cells.count()
        click.echo(f"{grid_map.id}\t{grid_map.jurisdiction_code}\tv{grid_map.version}\t"
                   f"{grid_map.status}\t{count} cells\t{grid_map.name}")

