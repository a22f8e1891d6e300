"""A root above the districts: declared on import (API, CLI, file), its geometry their union;
one assignment to it covers the jurisdiction; bad declarations store nothing; escalation
reaches a city supervisor."""

import json
from datetime import UTC, date, datetime
from types import SimpleNamespace

import time_machine
from shapely.geometry import box, mapping
from sqlalchemy import select

from server.models import GridCell, GridMap, Notification
from server.services import grid as grid_service
from server.services.followups.escalation import sweep, validate_rules
from server.services.scope import get_cell_in_scope
from tests.factories import (
    DISTRICTS,
    as_bytes,
    assign,
    auth_headers,
    feature_collection,
    make_user,
    make_world,
)
from tests.integration.followups_scene import NOW, build_scene, issue

CITY = {"code": "C1", "name": "测试市", "level": "city"}


def upload(client, headers, map_id, body, **params):
    query = "&".join(f"{k}={v}" for k, v in {"level": "district", **params}.items())
    return client.post(f"/api/v1/maps/{map_id}/levels?{query}", data=body, headers={
        **headers, "Content-Type": "application/geo+json"})


def rooted_map(session, *, activate=True):
    grid_map = grid_service.create_map(session, jurisdiction_code="T1", name="测试网格")
    grid_service.import_level(session, grid_map, as_bytes(feature_collection(DISTRICTS)),
                              level="district", root=CITY)
    for district in session.scalars(select(GridCell).where(GridCell.map_id == grid_map.id,
                                                           GridCell.level == "district")):
        for street in grid_service.subdivide_cell(session, district, 2):
            grid_service.subdivide_cell(session, street, 2)
    if activate:
        grid_service.activate_map(session, grid_map)
    return grid_map


def cells_of(session, grid_map):
    return {c.code: c for c in session.scalars(select(GridCell).where(GridCell.map_id == grid_map.id))}


def test_the_root_is_the_union_of_its_districts_and_one_assignment_covers_all(db_session):
    grid_map = rooted_map(db_session)
    cells = cells_of(db_session, grid_map)
    root = cells["C1"]
    assert [l["code"] for l in grid_map.levels] == ["city", "district", "street", "community"]
    assert (root.level, root.parent_id, root.path) == ("city", None, f"/{root.id}/")
    assert abs(root.area_m2 - cells["D1"].area_m2 - cells["D2"].area_m2) < 1
    assert cells["D1001001"].path == f"/{root.id}/{cells['D1'].id}/{cells['D1001'].id}/" \
                                     f"{cells['D1001001'].id}/"
    admin = make_user(db_session, "admin")
    city = make_user(db_session, "supervisor")
    assign(db_session, admin, city, root)
    for cell in cells.values():
        assert get_cell_in_scope(db_session, city, cell.id) == cell
    assert grid_service.validate_map(db_session, grid_map).ok


def test_a_root_declared_in_the_file_through_the_api_with_levels(client, db_session):
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    draft = client.post("/api/v1/maps/", json={"jurisdiction_code": "P1", "name": "省",
                                               "levels": ["province", "city", "district"]},
                        headers=headers).get_json()
    assert [l["zh"] for l in draft["levels"]] == ["省", "市", "区/县"]
    document = feature_collection([("M1", "甲市", box(106.0, 39.0, 106.1, 39.1))])
    document["root"] = {"code": "P", "name": "测试省", "level": "province",
                        "geometry": mapping(box(105.9, 38.9, 106.2, 39.2))}
    response = upload(client, headers, draft["id"], as_bytes(document), level="city",
                      tolerance_m2=1e9)
    assert response.status_code == 201, response.get_json()
    root = db_session.scalar(select(GridCell).where(GridCell.code == "P"))
    assert root.level == "province" and root.area_m2 > 8 * db_session.scalar(
        select(GridCell.area_m2).where(GridCell.code == "M1"))


def test_root_options_on_the_api_put_the_city_above_a_default_map(client, db_session):
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    draft = client.post("/api/v1/maps/", json={"jurisdiction_code": "T9", "name": "乌海"},
                        headers=headers).get_json()
    response = upload(client, headers, draft["id"], as_bytes(feature_collection(DISTRICTS)),
                      root_code="C1", root_name="测试市", root_level="city")
    assert response.status_code == 201, response.get_json()
    grid_map = db_session.get(GridMap, draft["id"])
    db_session.refresh(grid_map)
    assert [l["code"] for l in grid_map.levels] == ["city", "district", "street", "community"]
    body = client.get(f"/api/v1/maps/{draft['id']}", headers=headers).get_json()
    assert body["levels"][0] == {"code": "city", "zh": "市", "en": "City"}


def test_bad_levels_and_roots_are_refused_and_nothing_is_stored(client, db_session):
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    too_deep = client.post("/api/v1/maps/", json={
        "jurisdiction_code": "X1", "name": "深", "levels": ["province", "city", "district",
                                                         "street", "community", "community"]},
        headers=headers)
    assert too_deep.status_code == 422
    unknown = client.post("/api/v1/maps/", json={"jurisdiction_code": "X1", "name": "怪",
                                                 "levels": ["county", "street"]}, headers=headers)
    assert unknown.status_code == 422 and "county" in json.dumps(unknown.get_json())
    draft = client.post("/api/v1/maps/", json={"jurisdiction_code": "X1", "name": "乌海"},
                        headers=headers).get_json()
    body = as_bytes(feature_collection(DISTRICTS))
    # A root that is not directly above the imported level.
    below = upload(client, headers, draft["id"], body, level="district", root_code="S",
                   root_name="街", root_level="street")
    assert below.status_code == 422 and below.get_json()["error"]["code"] == "level_not_below"
    half = upload(client, headers, draft["id"], body, root_code="C1")
    assert half.status_code == 422
    # A level the map does not have.
    city = upload(client, headers, draft["id"], body, level="city")
    assert city.status_code == 422 and city.get_json()["error"]["code"] == "unknown_level"
    # The root's code repeats a district's.
    twin = upload(client, headers, draft["id"], body, root_code="D1", root_name="重",
                  root_level="city")
    assert twin.status_code == 422 and twin.get_json()["error"]["code"] == "grid_invalid"
    assert db_session.scalar(select(GridCell.id).where(GridCell.map_id == draft["id"])) is None
    db_session.expire_all()
    assert [l["code"] for l in db_session.get(GridMap, draft["id"]).levels] == [
        "district", "street", "community"]
    # Once the map has cells, a root can no longer be put on it.
    assert upload(client, headers, draft["id"], body).status_code == 201
    late = upload(client, headers, draft["id"], body, level="street", root_code="C1",
                  root_name="市", root_level="city")
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "map_not_empty"


def test_the_cli_imports_a_root_above_the_districts(runner, db_session, tmp_path):
    path = tmp_path / "districts.geojson"
    path.write_bytes(as_bytes(feature_collection(DISTRICTS)))
    result = runner.invoke(args=["grid", "import", str(path), "--level", "district",
                                 "--jurisdiction", "T5", "--root-code", "C1", "--root-name",
                                 "测试市", "--root-level", "city"])
    assert result.exit_code == 0, result.output
    assert "under the city 测试市 (C1)" in result.output
    root = db_session.scalar(select(GridCell).where(GridCell.code == "C1"))
    assert root.level == "city"
    assert {c.parent_id for c in db_session.scalars(
        select(GridCell).where(GridCell.level == "district"))} == {root.id}
    half = runner.invoke(args=["grid", "import", str(path), "--level", "district",
                               "--jurisdiction", "T6", "--root-code", "C2"])
    assert half.exit_code != 0 and "together" in half.output


def test_twenty_days_overdue_escalates_to_the_city_supervisor(db_session):
    with time_machine.travel(NOW, tick=False):
        world = make_world(db_session)
        grid_map = rooted_map(db_session)  # a new version of T1 with 测试市 on top
        world.grid = SimpleNamespace(map=grid_map, cells=cells_of(db_session, grid_map))
        scene = build_scene(db_session, world)
        city = make_user(db_session, "supervisor", "city_sup")
        assign(db_session, world.admin, city, world.grid.cells["C1"])
        order = issue(db_session, scene, deadline=date(2026, 3, 5))
        db_session.flush()
    rules = validate_rules({"remind": [], "escalate": [
        {"days_overdue": 3, "level": "street"}, {"days_overdue": 10, "level": "district"},
        {"days_overdue": 20, "level": "city"}]})

    def city_told():
        return [(n.user_id, n.subject_id) for n in db_session.scalars(
            select(Notification).where(Notification.level == "city"))]

    with time_machine.travel(datetime(2026, 3, 24, 2, 30, tzinfo=UTC), tick=False):
        sweep(db_session, None, rules=rules, today=date(2026, 3, 24))  # 19 days
    assert city_told() == []
    with time_machine.travel(datetime(2026, 3, 25, 2, 30, tzinfo=UTC), tick=False):
        sweep(db_session, None, rules=rules, today=date(2026, 3, 25))  # 20 days
    assert city_told() == [(city.id, order.id)]
