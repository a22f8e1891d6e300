"""Map versions: draft → active → retired; assignments follow the new version."""

import pytest

from server.errors import Conflict
from server.models import CellAssignment, GridMap
from server.services import grid as grid_service
from tests.factories import (
    DISTRICTS,
    as_bytes,
    assign,
    feature_collection,
    make_grid,
    make_user,
)


def new_version(db_session, jurisdiction="T1"):
    draft = grid_service.create_map(db_session, jurisdiction_code=jurisdiction, name="v2")
    grid_service.import_level(db_session, draft, as_bytes(feature_collection(DISTRICTS)),
                              level="district")
    return draft


def test_activating_a_new_version_retires_the_old_one_without_deleting_it(db_session):
    old = make_grid(db_session)
    draft = new_version(db_session)
    assert draft.version == old.map.version + 1
    result = grid_service.activate_map(db_session, draft)
    assert result["retired"] == [old.map.id]
    assert db_session.get(GridMap, old.map.id).status == "retired"
    assert old.map.cells.count() == 14


def test_assignments_follow_cells_with_the_same_code(db_session):
    old = make_grid(db_session)
    admin = make_user(db_session, "admin")
    on_district = assign(db_session, admin, make_user(db_session), old.cells["D1"])
    on_community = assign(db_session, admin, make_user(db_session), old.cells["D1001001"])
    draft = new_version(db_session)  # districts only: the community code is gone
    result = grid_service.activate_map(db_session, draft)
    assert result["assignments_moved"] == 1
    assert result["assignments_unmatched"] == [
        {"assignment_id": on_community.id, "cell_code": "D1001001", "user_id": on_community.user_id}]
    moved = db_session.get(CellAssignment, on_district.id)
    assert moved.cell.map_id == draft.id and moved.cell.code == "D1"


def test_a_map_with_errors_cannot_be_activated(db_session):
    grid = make_grid(db_session, activate=False)
    # The draft is valid; cutting a community away leaves a gap in its street.
    community = grid.cells["D1001001"]
    db_session.delete(community)
    db_session.flush()
    with pytest.raises(Conflict) as raised:
        grid_service.activate_map(db_session, grid.map)
    assert raised.value.code == "grid_invalid"
    assert {p["code"] for p in raised.value.details["errors"]} == {"gap"}
    assert db_session.get(GridMap, grid.map.id).status == "draft"


def test_subdivided_children_tile_their_parent(db_session):
    grid = make_grid(db_session, activate=False)
    report = grid_service.validate_map(db_session, grid.map)
    assert report.ok, report.to_dict()
    assert report.cell_count == 14


def test_a_cell_with_children_cannot_be_cut_again(db_session):
    grid = make_grid(db_session, activate=False)
    with pytest.raises(Conflict) as raised:
        grid_service.subdivide_cell(db_session, grid.cells["D1"], 3)
    assert raised.value.code == "cell_has_children"


def test_ended_assignments_stay_on_the_retired_map(db_session):
    from datetime import UTC, date, datetime

    import time_machine

    old = make_grid(db_session)
    admin = make_user(db_session, "admin")
    # Assignments are never backdated: make it in January, when it began; it ended in February.
    with time_machine.travel(datetime(2026, 1, 5, 2, 30, tzinfo=UTC), tick=False):
        ended = assign(db_session, admin, make_user(db_session), old.cells["D1"],
                       valid_to=date(2026, 2, 3))
    with time_machine.travel(datetime(2026, 3, 2, 2, 30, tzinfo=UTC), tick=False):
        grid_service.activate_map(db_session, new_version(db_session))
    assert db_session.get(CellAssignment, ended.id).cell.map_id == old.map.id


def test_an_assignment_ended_today_stays_on_the_retired_map(db_session):
    from server.services.assignments import end_assignment

    old = make_grid(db_session)
    admin = make_user(db_session, "admin")
    ended = assign(db_session, admin, make_user(db_session), old.cells["D1"])
    kept = assign(db_session, admin, make_user(db_session), old.cells["D2"])
    end_assignment(db_session, admin, ended.id)
    grid_service.activate_map(db_session, new_version(db_session))
    assert db_session.get(CellAssignment, ended.id).cell.map_id == old.map.id
    assert db_session.get(CellAssignment, kept.id).cell.map_id != old.map.id


def test_subdividing_into_codes_already_used_is_a_conflict(db_session):
    draft = grid_service.create_map(db_session, jurisdiction_code="T9", name="x")
    from shapely.geometry import box

    grid_service.import_level(db_session, draft, as_bytes(feature_collection(
        [("A", "甲", box(106.0, 39.0, 106.1, 39.1)), ("A001", "乙", box(106.1, 39.0, 106.2, 39.1))])),
        level="district")
    cell = draft.cells.filter_by(code="A").one()
    with pytest.raises(Conflict) as raised:
        grid_service.subdivide_cell(db_session, cell, 2)
    assert raised.value.code == "code_taken" and raised.value.details == {"codes": ["A001"]}
