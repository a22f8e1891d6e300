"""Grid map use cases: drafts, importing levels, validation, activation, subdivision."""

import json

from geoalchemy2.shape import from_shape, to_shape
from shapely import unary_union
from shapely.geometry import shape
from sqlalchemy import func, select

from grid_maps import (
    CellFeature,
    GeoJSONError,
    LevelsError,
    ValidationReport,
    area_m2,
    level_codes,
    normalise_levels,
    read_feature_collection,
    read_root,
    subdivide,
    to_multipolygon,
    validate_cells,
)
from grid_maps.levels import default_levels
from grid_maps.report import Problem
from server.errors import AppError, Conflict, ValidationFailed
from server.models import CellAssignment, GridCell, GridMap
from server.models._types import utcnow
from server.services import audit
from server.services.paging import page
from server.services.scope import standing_assignment_clause, visible_maps_query

CHILD_NAME = {"city": "市", "district": "区", "street": "街道", "community": "社区"}


def list_maps(session, actor, *, limit, offset=0, cursor=None):
    """Return a page of the maps holding cells in the actor's scope (admins: all)."""
    return page(session, visible_maps_query(actor), limit=limit, offset=offset, cursor=cursor)


def create_map(session, *, jurisdiction_code, name, levels=None, actor=None):
    """Add a new draft version of the jurisdiction's grid map, with its levels (top first)."""
    levels = _levels(levels) if levels is not None else default_levels()
    latest = session.scalar(
        select(func.max(GridMap.version)).where(GridMap.jurisdiction_code == jurisdiction_code)
    )
    grid_map = GridMap(jurisdiction_code=jurisdiction_code, name=name,
                       version=(latest or 0) + 1, status="draft", levels=levels)
    session.add(grid_map)
    session.flush()
    audit.record(session, actor, "map.create", "grid_map", grid_map.id,
                 after={"jurisdiction_code": jurisdiction_code, "name": name,
                        "version": grid_map.version, "levels": level_codes(levels)})
    return grid_map


def _levels(declared):
    try:
        return normalise_levels(declared)
    except LevelsError as error:
        raise ValidationFailed(error.message, code=error.code,
                               details={"levels": [error.message]}) from error


def map_levels(grid_map):
    """Return the codes of a map's levels, top first."""
    return level_codes(grid_map.levels or default_levels())


def _require_draft(grid_map):
    if grid_map.status != "draft":
        raise Conflict(
            f"Map {grid_map.id} is {grid_map.status}; only a draft can change. "
            "Create a new draft version instead.",
            code="map_not_draft",
        )


def _cells_at(session, grid_map, level):
    return session.scalars(
        select(GridCell).where(GridCell.map_id == grid_map.id, GridCell.level == level)
        .order_by(GridCell.code)
    ).all()


def _parent_level(grid_map, level):
    levels = map_levels(grid_map)
    if level not in levels:
        raise ValidationFailed(
            f"Level {level!r} is not a level of map {grid_map.id}; its levels are "
            f"{', '.join(levels)}.", code="unknown_level", details={"level": [f"one of {levels}"]})
    index = levels.index(level)
    return levels[index - 1] if index else None


def check_file(data, *, code_property="code", name_property="name", parent_property=None,
               parents=None, link="code", tolerance_m2=100.0, repair=False):
    """Read and validate a GeoJSON file of cells without storing anything."""
    try:
        features, report = read_feature_collection(
            data, code_property=code_property, name_property=name_property,
            parent_property=parent_property,
        )
    except GeoJSONError as error:
        raise AppError(error.message, code=error.code, status=400) from error
    return validate_cells(features, parents=parents, link=link,
                          sliver_tolerance_m2=tolerance_m2, repair=repair, report=report)


def import_level(session, grid_map, data, *, level, code_property="code", name_property="name",
                 parent_property=None, link=None, tolerance_m2=100.0, repair=False, root=None,
                 levels=None, actor=None):
    """Validate a GeoJSON level against its parent level and store it, or store nothing.

    root ({"code", "name", "level", "geometry"?}) puts one cell above this level, its
    geometry the union of the file's cells unless given; levels (top first) replace the
    map's. Both only into an empty map; the file may declare them as members "root" and
    "levels". Raises ValidationFailed with the whole report when there is any error.
    """
    _require_draft(grid_map)
    declared_root, declared_levels = _declared(data)
    root, levels = root or declared_root, levels or declared_levels
    if root is not None or levels is not None:
        _set_levels(session, grid_map, levels, root)
    parent_level = _parent_level(grid_map, level)
    if _cells_at(session, grid_map, level):
        raise Conflict(f"Level {level} is already in map {grid_map.id}.", code="level_exists")
    if root is not None:
        return _import_under_root(session, grid_map, data, root, level=level,
                                  code_property=code_property, name_property=name_property,
                                  tolerance_m2=tolerance_m2, repair=repair, actor=actor)
    parent_cells = {}
    if parent_level:
        parent_cells = {c.code: c for c in _cells_at(session, grid_map, parent_level)}
        if not parent_cells:
            raise Conflict(f"Import the {parent_level} level before {level}.",
                           code="parent_level_missing")
    link = link or ("code" if parent_property else "containment")
    parents = {code: to_shape(c.geom) for code, c in parent_cells.items()} or None
    cells, report = check_file(
        data, code_property=code_property, name_property=name_property,
        parent_property=parent_property, parents=parents, link=link,
        tolerance_m2=tolerance_m2, repair=repair,
    )
    _check_codes_unused(session, grid_map, cells, report)
    _refuse_errors(report)
    for valid in cells:
        parent = parent_cells.get(valid.parent_code) if parent_level else None
        _add_cell(session, grid_map, level, valid.code, valid.name, valid.geometry, parent)
    session.flush()
    audit.record(session, actor, "map.import_level", "grid_map", grid_map.id,
                 details={"level": level, "cells": len(cells), "file_sha256": _sha256(data),
                          "repairs": len(report.repairs)})
    return report


def _refuse_errors(report):
    if not report.ok:
        raise ValidationFailed(
            f"The file has {len(report.errors)} error(s); nothing was stored.",
            code="grid_invalid", details=report.to_dict(),
        )


def _declared(data):
    """Return the (root, levels) a FeatureCollection declares as foreign members, or Nones."""
    try:
        document = data if isinstance(data, dict) else json.loads(data)
    except (TypeError, ValueError):
        return None, None  # read_feature_collection reports what is wrong with the file
    if not isinstance(document, dict):
        return None, None
    return document.get("root"), document.get("levels")


def _set_levels(session, grid_map, levels, root):
    """Give an empty draft the declared levels; with a root of a level above, put it on top."""
    if session.scalar(select(GridCell.id).where(GridCell.map_id == grid_map.id).limit(1)):
        raise Conflict(f"Map {grid_map.id} already has cells; its levels and root are set by "
                       "its first import.", code="map_not_empty")
    declared = _levels(levels) if levels is not None else list(grid_map.levels or default_levels())
    if root is not None:
        root_level = _root(root).level
        if root_level not in level_codes(declared):
            declared = _levels([{"code": root_level}, *declared])
    grid_map.levels = declared


def _root(spec):
    try:
        return read_root(spec)
    except LevelsError as error:
        raise ValidationFailed(error.message, code=error.code,
                               details={"root": [error.message]}) from error


def _import_under_root(session, grid_map, data, spec, *, level, code_property, name_property,
                       tolerance_m2, repair, actor):
    root = _root(spec)
    levels = map_levels(grid_map)
    if levels[0] != root.level or levels.index(level) != 1:
        raise ValidationFailed(
            f"The root's level {root.level} must be the map's top level and {level} the one "
            f"directly below it; the map's levels are {', '.join(levels)}.",
            code="level_not_below", details={"level": [f"directly below {levels[0]}"]})
    geometry = None
    if root.geometry is not None:
        try:
            geometry = to_multipolygon(shape(root.geometry))
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            raise ValidationFailed(f"root.geometry is not a usable polygon: {error}",
                                   code="root_invalid", details={"root": ["geometry"]}) from error
        if geometry.is_empty or not geometry.is_valid:
            raise ValidationFailed("root.geometry must be a valid, non-empty polygon.",
                                   code="root_invalid", details={"root": ["geometry"]})
    parents = {root.code: geometry} if geometry is not None else None
    cells, report = check_file(data, code_property=code_property, name_property=name_property,
                               parents=parents, link="containment", tolerance_m2=tolerance_m2,
                               repair=repair)
    _check_codes_unused(session, grid_map, cells, report)
    for valid in cells:
        if valid.code == root.code:
            report.error("duplicate_code", f"cell code {valid.code} is also the root's code",
                         cell_code=valid.code, feature_index=valid.index)
    _refuse_errors(report)
    if geometry is None:
        geometry = to_multipolygon(unary_union([valid.geometry for valid in cells]))
    top = _add_cell(session, grid_map, root.level, root.code, root.name, geometry, None)
    for valid in cells:
        _add_cell(session, grid_map, level, valid.code, valid.name, valid.geometry, top)
    session.flush()
    audit.record(session, actor, "map.import_level", "grid_map", grid_map.id,
                 details={"level": level, "cells": len(cells), "file_sha256": _sha256(data),
                          "repairs": len(report.repairs),
                          "root": {"code": root.code, "level": root.level,
                                   "geometry": "given" if root.geometry else "union"}})
    return report


def _check_codes_unused(session, grid_map, cells, report):
    codes = [c.code for c in cells]
    taken = set(session.scalars(
        select(GridCell.code).where(GridCell.map_id == grid_map.id, GridCell.code.in_(codes))
    )) if codes else set()
    for valid in cells:
        if valid.code in taken:
            report.problems.append(Problem(
                code="duplicate_code", severity="error", cell_code=valid.code,
                feature_index=valid.index,
                message=f"Code {valid.code} is already used by another cell of this map.",
            ))


def _add_cell(session, grid_map, level, code, name, geometry, parent):
    cell = GridCell(map_id=grid_map.id, level=level, code=code, name=name,
                    parent_id=parent.id if parent else None,
                    area_m2=area_m2(geometry), geom=from_shape(geometry, srid=4326))
    session.add(cell)
    session.flush()
    cell.path = f"{parent.path if parent else '/'}{cell.id}/"
    return cell


def validate_map(session, grid_map, *, tolerance_m2=100.0):
    """Check every level of a stored map against the level above it."""
    report = ValidationReport(problems=[], repairs=[])
    levels = map_levels(grid_map)
    stray = session.scalars(select(GridCell).where(GridCell.map_id == grid_map.id,
                                                   GridCell.level.not_in(levels))).all()
    for cell in stray:
        report.error("unknown_level", f"cell {cell.code} is at level {cell.level}, which is not "
                     f"a level of the map ({', '.join(levels)})", cell_code=cell.code)
    parents = None
    count = len(stray)
    id_to_code = {}
    for level in levels:
        rows = _cells_at(session, grid_map, level)
        if not rows:
            break
        features = [
            CellFeature(index=i, code=c.code, name=c.name, geometry=to_shape(c.geom),
                        parent_code=id_to_code.get(c.parent_id), properties={})
            for i, c in enumerate(rows)
        ]
        validate_cells(features, parents=parents, link="code",
                       sliver_tolerance_m2=tolerance_m2, report=report)
        count += len(rows)
        parents = {f.code: f.geometry for f in features}
        id_to_code = {c.id: c.code for c in rows}
    report.cell_count = count
    return report


def activate_map(session, grid_map, *, tolerance_m2=100.0, actor=None, after_batch=None):
    """Make a valid draft the active map; retire the previous one and move assignments to it.

    Premises cells are re-derived set-based in batches (premises.rederive_cells);
    after_batch(done, total) runs after each (the command line commits there). Returns a
    summary with the assignments that found no cell of the same code.
    """
    _require_draft(grid_map)
    report = validate_map(session, grid_map, tolerance_m2=tolerance_m2)
    if report.cell_count == 0:
        raise Conflict("The map has no cells.", code="map_empty")
    if not report.ok:
        raise Conflict(f"The map has {len(report.errors)} error(s); fix them before activating.",
                       code="grid_invalid", details=report.to_dict())
    now = utcnow()
    previous = session.scalars(
        select(GridMap).where(GridMap.jurisdiction_code == grid_map.jurisdiction_code,
                              GridMap.status == "active")
    ).all()
    unmatched = []
    moved = 0
    new_cells = {c.code: c.id for c in session.scalars(
        select(GridCell).where(GridCell.map_id == grid_map.id))}
    for old in previous:
        old.status = "retired"
        old.retired_at = now
        rows = session.execute(
            select(CellAssignment, GridCell.code)
            .join(GridCell, GridCell.id == CellAssignment.cell_id)
            .where(GridCell.map_id == old.id, _not_ended())
        ).all()
        for assignment, code in rows:
            if code in new_cells:
                assignment.cell_id = new_cells[code]
                moved += 1
            else:
                unmatched.append({"assignment_id": assignment.id, "cell_code": code,
                                  "user_id": assignment.user_id})
    grid_map.status = "active"
    grid_map.activated_at = now
    session.flush()
    from server.services.premises import rederive_cells

    premises_moved, orphans = rederive_cells(session, actor, after_batch=after_batch)
    from server.services.followups.complaints import rederive_complaint_cells

    rederive_complaint_cells(session, actor)
    result = {"map_id": grid_map.id, "retired": [m.id for m in previous],
              "assignments_moved": moved, "assignments_unmatched": unmatched,
              "premises_moved": premises_moved, "premises_orphaned": orphans,
              "report": report.to_dict()}
    audit.record(session, actor, "map.activate", "grid_map", grid_map.id,
                 details={k: v for k, v in result.items() if k != "report"})
    return result


def _not_ended():
    # Ended assignments stay on the retired map: history is not rewritten.
    return standing_assignment_clause()


def subdivide_cell(session, cell, parts, *, names=None, actor=None):
    """Cut a cell of a draft map into `parts` child cells that tile it exactly."""
    grid_map = session.get(GridMap, cell.map_id)
    _require_draft(grid_map)
    levels = map_levels(grid_map)
    index = levels.index(cell.level)
    if index + 1 >= len(levels):
        raise ValidationFailed(f"A {cell.level} cell is the lowest level and cannot be cut.",
                               code="lowest_level")
    if session.scalar(select(func.count()).where(GridCell.parent_id == cell.id)):
        raise Conflict(f"Cell {cell.code} already has child cells.", code="cell_has_children")
    if not 1 <= parts <= 999:
        raise ValidationFailed("parts must be between 1 and 999.", details={"parts": ["1..999"]})
    if names is not None and len(names) != parts:
        raise ValidationFailed(f"Give {parts} names or none.", details={"names": ["count"]})
    level = levels[index + 1]
    codes = [f"{cell.code}{number:03d}" for number in range(1, parts + 1)]
    taken = sorted(session.scalars(select(GridCell.code).where(
        GridCell.map_id == cell.map_id, GridCell.code.in_(codes))))
    if taken:
        raise Conflict(f"Child codes already used in this map: {', '.join(taken)}.",
                       code="code_taken", details={"codes": taken})
    pieces = subdivide(to_shape(cell.geom), parts)
    children = []
    for number, piece in enumerate(pieces, start=1):
        name = names[number - 1] if names else f"{cell.name}第{number}{CHILD_NAME[level]}"
        children.append(_add_cell(session, grid_map, level, codes[number - 1], name, piece, cell))
    session.flush()
    audit.record(session, actor, "cell.subdivide", "grid_cell", cell.id,
                 details={"children": codes})
    return children



def _sha256(data):
    import hashlib

    return hashlib.sha256(data if isinstance(data, bytes) else str(data).encode()).hexdigest()
