"""The premises directory: cells from locations, orphans, versioned edits, re-derivation."""

import pytest
from geoalchemy2.shape import to_shape
from shapely.geometry import box

from server.models import AuditEvent, Premises
from server.services import grid as grid_service
from tests.factories import (
    as_bytes,
    assign,
    auth_headers,
    feature_collection,
    make_grid,
    make_premises,
    make_user,
)


@pytest.fixture
def office(db_session):
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    supervisor = make_user(db_session, "supervisor", "liu")
    coordinator = make_user(db_session, "coordinator", "wang")
    assign(db_session, admin, supervisor, grid.cells["D1"])
    assign(db_session, admin, coordinator, grid.cells["D1001001"])
    return grid, admin, supervisor, coordinator


def new_premises(**extra):
    return {"name": "康宁诊所", "category_code": "clinic", "ownership": "private",
            "licence_no": "PDY-1", "address": "乌海市海勃湾区", "lon": 106.01, "lat": 39.01, **extra}


def test_premises_gets_the_cell_of_its_location(client, db_session, office):
    grid, _, supervisor, _ = office
    response = client.post("/api/v1/premises/", json=new_premises(),
                           headers=auth_headers(db_session, supervisor))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    cell = db_session.get(type(grid.cells["D1"]), body["cell_id"])
    assert cell.level == "community" and cell.code.startswith("D1")
    assert body["category_label"] == {"zh": "诊所", "en": "Clinic"}
    assert (body["lon"], body["lat"]) == (106.01, 39.01)


def test_supervisor_cannot_add_premises_outside_their_cells(client, db_session, office):
    _, _, supervisor, _ = office
    response = client.post("/api/v1/premises/", json=new_premises(lon=106.15),
                           headers=auth_headers(db_session, supervisor))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "location_out_of_scope"
    assert db_session.query(Premises).count() == 0


def test_premises_in_no_cell_is_kept_and_listed_as_an_orphan(client, db_session, office):
    _, admin, supervisor, coordinator = office
    headers = auth_headers(db_session, admin)
    response = client.post("/api/v1/premises/", json=new_premises(lon=110.0, lat=40.0),
                           headers=headers)
    assert response.status_code == 201 and response.get_json()["cell_id"] is None
    orphans = client.get("/api/v1/premises/orphans", headers=headers).get_json()
    assert [p["name"] for p in orphans] == ["康宁诊所"]
    assert client.get("/api/v1/premises/orphans",
                      headers=auth_headers(db_session, coordinator)).status_code == 403


def test_orphans_are_hidden_from_the_supervisor_of_one_district(client, db_session, office):
    _, admin, supervisor, _ = office
    make_orphan(db_session, admin)
    response = client.get("/api/v1/premises/orphans", headers=auth_headers(db_session, supervisor))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "whole_grid_required"
    assert "康宁诊所" not in response.get_data(as_text=True)


def test_orphans_are_listed_for_the_supervisor_of_every_top_cell(client, db_session, office):
    grid, admin, _, _ = office
    chief = make_user(db_session, "supervisor", "chief")
    assign(db_session, admin, chief, grid.cells["D1"])
    assign(db_session, admin, chief, grid.cells["D2"])
    orphan = make_orphan(db_session, admin)
    response = client.get("/api/v1/premises/orphans", headers=auth_headers(db_session, chief))
    assert response.status_code == 200
    assert [p["id"] for p in response.get_json()] == [orphan.id]


def make_orphan(db_session, admin, **extra):
    from server.services.premises import create_premises

    orphan = create_premises(db_session, admin, new_premises(
        lon=110.0, lat=40.0, licence_no="ORPHAN-1", contact_name="原联系人",
        contact_phone="13800000000", **extra))
    assert orphan.cell_id is None
    return orphan


def premises_row(db_session, premises_id):
    db_session.expire_all()
    p = db_session.get(Premises, premises_id)
    return (p.name, p.licence_no, p.contact_name, p.contact_phone, p.cell_id, p.version)


def test_duplicate_licence_in_scope_names_the_premises(client, db_session, office):
    grid, admin, supervisor, _ = office
    mine = make_premises(db_session, admin, grid.cells["D1001001"])
    response = client.post("/api/v1/premises/", json=new_premises(licence_no=mine.licence_no),
                           headers=auth_headers(db_session, supervisor))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "identifier_taken" and error["details"] == {"premises_id": mine.id}


@pytest.mark.parametrize("where", ["other_district", "orphan"])
def test_duplicate_licence_out_of_scope_reveals_nothing_on_create(client, db_session, office,
                                                                  where):
    grid, admin, supervisor, _ = office
    theirs = make_premises(db_session, admin, grid.cells["D2001001"]) \
        if where == "other_district" else make_orphan(db_session, admin)
    count = db_session.query(Premises).count()
    response = client.post("/api/v1/premises/", json=new_premises(licence_no=theirs.licence_no),
                           headers=auth_headers(db_session, supervisor))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "identifier_taken" and error["details"] is None
    assert str(theirs.id) not in error["message"]
    assert db_session.query(Premises).count() == count


def test_duplicate_licence_out_of_scope_reveals_nothing_on_update(client, db_session, office):
    grid, admin, supervisor, _ = office
    mine = make_premises(db_session, admin, grid.cells["D1001001"])
    theirs = make_premises(db_session, admin, grid.cells["D2001001"])
    before = premises_row(db_session, mine.id)
    response = client.patch(f"/api/v1/premises/{mine.id}",
                            json={"base_version": 1, "licence_no": theirs.licence_no},
                            headers=auth_headers(db_session, supervisor))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "identifier_taken" and error["details"] is None
    assert premises_row(db_session, mine.id) == before


def test_duplicate_licence_number_is_a_conflict(client, db_session, office):
    _, admin, _, _ = office
    headers = auth_headers(db_session, admin)
    assert client.post("/api/v1/premises/", json=new_premises(), headers=headers).status_code == 201
    again = client.post("/api/v1/premises/", json=new_premises(name="别的"), headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "identifier_taken"
    assert db_session.query(Premises).count() == 1


def test_edit_with_a_stale_version_is_a_conflict_carrying_the_current_state(client, db_session,
                                                                           office):
    grid, admin, supervisor, _ = office
    premises = make_premises(db_session, admin, grid.cells["D1001001"])
    headers = auth_headers(db_session, supervisor)
    first = client.patch(f"/api/v1/premises/{premises.id}",
                         json={"base_version": 1, "contact_phone": "0473-1234567"}, headers=headers)
    assert first.status_code == 200 and first.get_json()["version"] == 2
    stale = client.patch(f"/api/v1/premises/{premises.id}",
                         json={"base_version": 1, "contact_phone": "0473-7654321"}, headers=headers)
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "stale_version"
    assert error["details"]["current"]["contact_phone"] == "0473-1234567"
    db_session.expire_all()
    assert db_session.get(Premises, premises.id).contact_phone == "0473-1234567"


def test_coordinator_edits_contact_details_but_not_the_licence(client, db_session, office):
    grid, admin, _, coordinator = office
    premises = make_premises(db_session, admin, grid.cells["D1001001"])
    headers = auth_headers(db_session, coordinator)
    ok = client.patch(f"/api/v1/premises/{premises.id}",
                      json={"base_version": 1, "contact_name": "张医生"}, headers=headers)
    assert ok.status_code == 200
    refused = client.patch(f"/api/v1/premises/{premises.id}",
                           json={"base_version": 2, "licence_no": "FAKE"}, headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["details"] == {"fields": ["licence_no"]}


def test_edits_are_audited_with_before_and_after_digests(client, db_session, office):
    grid, admin, supervisor, _ = office
    premises = make_premises(db_session, admin, grid.cells["D1001001"])
    client.patch(f"/api/v1/premises/{premises.id}", json={"base_version": 1, "name": "新名字"},
                 headers=auth_headers(db_session, supervisor))
    event = db_session.query(AuditEvent).filter_by(action="premises.update").one()
    assert event.actor_id == supervisor.id and event.entity_id == str(premises.id)
    assert event.before_digest and event.after_digest and event.before_digest != event.after_digest


def test_activating_a_new_map_moves_premises_to_its_cells(db_session, office):
    grid, admin, _, _ = office
    premises = make_premises(db_session, admin, grid.cells["D2002002"])
    orphan = make_premises(db_session, admin, grid.cells["D1001001"])
    draft = grid_service.create_map(db_session, jurisdiction_code="T1", name="v2")
    # The new version covers only the eastern district.
    grid_service.import_level(db_session, draft, as_bytes(feature_collection(
        [("E1", "东区", box(106.1, 39.0, 106.2, 39.1))])), level="district")
    result = grid_service.activate_map(db_session, draft)
    assert result["premises_moved"] == 2 and result["premises_orphaned"] == 1
    db_session.expire_all()
    assert db_session.get(Premises, premises.id).cell.code == "E1"
    assert db_session.get(Premises, orphan.id).cell_id is None


def test_premises_list_is_scoped(client, db_session, office):
    grid, admin, _, coordinator = office
    mine = make_premises(db_session, admin, grid.cells["D1001001"])
    make_premises(db_session, admin, grid.cells["D2001001"])
    listed = client.get("/api/v1/premises/", headers=auth_headers(db_session, coordinator))
    assert [p["id"] for p in listed.get_json()] == [mine.id]
    point = to_shape(mine.location)
    assert listed.get_json()[0]["lon"] == pytest.approx(point.x)
