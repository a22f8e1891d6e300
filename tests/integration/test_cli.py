"""The command-line contract: `flask users`, `flask grid`, `flask demo`."""

import json

from shapely.geometry import box

from server.models import CellAssignment, GridCell, GridMap, User
from server.services.passwords import verify_password
from tests.conftest import BOUNDARIES
from tests.factories import feature_collection

WUHAI = str(BOUNDARIES / "wuhai-districts.geojson")


def test_users_create_takes_the_password_from_stdin(runner, db_session):
    result = runner.invoke(args=["users", "create", "li", "--role", "officer"],
                           input="s3cret-password\n")
    assert result.exit_code == 0, result.output
    user = db_session.query(User).filter_by(username="li").one()
    assert user.role == "officer" and verify_password(user.password_hash, "s3cret-password")


def test_users_create_with_password_option_and_duplicate_refused(runner, db_session):
    args = ["users", "create", "wang", "--role", "coordinator", "--password", "long-enough-1"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already exists" in again.output
    assert db_session.query(User).filter_by(username="wang").count() == 1


def test_users_create_refuses_unknown_role_and_short_password(runner, db_session):
    assert runner.invoke(args=["users", "create", "x", "--role", "boss",
                               "--password", "long-enough-1"]).exit_code != 0
    short = runner.invoke(args=["users", "create", "x", "--role", "officer", "--password", "123"])
    assert short.exit_code != 0 and "at least 8" in short.output
    assert db_session.query(User).count() == 0


def test_grid_validate_accepts_a_real_district_file_on_its_own(runner):
    result = runner.invoke(args=["grid", "validate", WUHAI, "--code-property", "gb", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["cell_count"] == 3


def test_grid_validate_exits_non_zero_and_locates_each_problem(runner, tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(feature_collection([
        ("A", "甲", box(106.0, 39.0, 106.1, 39.1)), ("B", "乙", box(106.05, 39.0, 106.2, 39.1)),
        ("A", "丙", box(106.3, 39.0, 106.4, 39.1))])))
    result = runner.invoke(args=["grid", "validate", str(path), "--json"])
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    assert {e["code"] for e in errors} >= {"overlap", "duplicate_code"}
    assert all(e["point"] or e["bbox"] for e in errors if e["code"] == "overlap")
    human = runner.invoke(args=["grid", "validate", str(path)])
    assert human.exit_code == 1 and "ERROR" in human.output and "overlap" in human.output


def test_grid_validate_malformed_file_is_a_clear_error(runner, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [')
    result = runner.invoke(args=["grid", "validate", str(path)])
    assert result.exit_code != 0 and "malformed_json" in result.output


def test_grid_import_activate_and_subdivide(runner, db_session):
    imported = runner.invoke(args=["grid", "import", WUHAI, "--level", "district",
                                   "--jurisdiction", "150300", "--map-name", "乌海",
                                   "--code-property", "gb", "--name-property", "name"])
    assert imported.exit_code == 0, imported.output
    grid_map = db_session.query(GridMap).one()
    cut = runner.invoke(args=["grid", "subdivide", "156150302", "--map", str(grid_map.id),
                              "--parts", "4"])
    assert cut.exit_code == 0, cut.output
    assert db_session.query(GridCell).filter_by(level="street").count() == 4
    activated = runner.invoke(args=["grid", "activate", str(grid_map.id)])
    assert activated.exit_code == 0, activated.output
    db_session.expire_all()
    assert db_session.get(GridMap, grid_map.id).status == "active"
    found = runner.invoke(args=["grid", "lookup", "106.82", "39.67"])
    assert found.exit_code == 0 and "156150302" in found.output


def test_grid_import_with_errors_stores_nothing(runner, db_session, tmp_path):
    path = tmp_path / "metres.geojson"
    path.write_text(json.dumps(feature_collection([("M", "米", box(500000, 4400000, 510000, 4410000))])))
    result = runner.invoke(args=["grid", "import", str(path), "--level", "district",
                                 "--jurisdiction", "X"])
    assert result.exit_code != 0 and "coordinates_out_of_range" in result.output
    assert db_session.query(GridMap).count() == 0 and db_session.query(GridCell).count() == 0


def test_demo_load_twice_does_not_duplicate(runner, db_session):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    counts = (db_session.query(User).count(), db_session.query(GridCell).count(),
              db_session.query(CellAssignment).count(), db_session.query(GridMap).count())
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0 and "already there" in second.output
    assert counts == (db_session.query(User).count(), db_session.query(GridCell).count(),
                      db_session.query(CellAssignment).count(), db_session.query(GridMap).count())
    assert counts[1] == 1 + 3 + 9 + 27  # 乌海市 over 3 districts, 9 streets, 27 communities


def test_the_demo_city_supervisor_has_one_assignment_to_the_city_root(runner, db_session):
    from server.services.users import find_user

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    supervisor = find_user(db_session, "wuhai.supervisor")
    (assignment,) = db_session.query(CellAssignment).filter_by(user_id=supervisor.id).all()
    assert (assignment.cell.level, assignment.cell.name, assignment.cell.parent_id) == \
        ("city", "乌海市", None)
    grid_map = assignment.cell.map
    assert [level["code"] for level in grid_map.levels] == ["city", "district", "street",
                                                           "community"]
    districts = db_session.query(GridCell).filter_by(map_id=grid_map.id, level="district").all()
    assert len(districts) == 3
    assert all(d.parent_id == assignment.cell.id and d.path.startswith(assignment.cell.path)
               for d in districts)
