"""Importing premises from CSV: UTF-8 and GBK, every bad row by line, all or nothing."""

import json

import pytest
from geoalchemy2.shape import to_shape

from grid_maps.gcj02 import wgs84_to_gcj02
from server.models import Premises
from tests.conftest import TEST_DATA
from tests.factories import auth_headers, make_user, make_wuhai_map

CSV_DIR = TEST_DATA / "premises"
GOOD = (CSV_DIR / "wuhai-good-utf8.csv").read_bytes()
HEADER = "名称,类别,性质,许可证号,地址,经度,纬度\n"


@pytest.fixture
def wuhai(db_session):
    return make_wuhai_map(db_session)


@pytest.fixture
def headers(db_session):
    return auth_headers(db_session, make_user(db_session, "admin"))


def upload(client, headers, body, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(f"/api/v1/premises/import?{query}", data=body,
                       headers={**headers, "Content-Type": "text/csv"})


def count(db_session):
    return db_session.query(Premises).count()


@pytest.mark.parametrize("name", ["wuhai-good-utf8.csv", "wuhai-good-gbk.csv"])
def test_utf8_and_gbk_files_import_the_same_premises(client, headers, db_session, wuhai, name):
    response = upload(client, headers, (CSV_DIR / name).read_bytes())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["created"], body["errors"]) == (5, [])
    assert body["encoding"] == ("utf-8" if "utf8" in name else "gb18030")
    names = sorted(p.name for p in db_session.query(Premises))
    assert "乌海市海勃湾区仁和诊所" in names
    assert all(p.cell_id is not None for p in db_session.query(Premises))


def test_importing_again_changes_nothing_and_changed_rows_update(client, headers, db_session, wuhai):
    upload(client, headers, GOOD)
    again = upload(client, headers, GOOD).get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5)
    changed = GOOD.decode().replace("王建国", "王建军").encode()
    third = upload(client, headers, changed).get_json()
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 4)
    assert count(db_session) == 5
    clinic = db_session.query(Premises).filter_by(contact_name="王建军").one()
    assert clinic.version == 2


def test_wrong_columns_are_refused_naming_them(client, headers, db_session, wuhai):
    body = "名称,颜色,经度\n某诊所,红,106.8\n".encode()
    response = upload(client, headers, body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unknown_columns"  # checked before the missing ones
    assert error["details"]["columns"] == ["颜色"]
    assert count(db_session) == 0


def test_bad_rows_are_reported_by_line_and_nothing_is_stored(client, headers, db_session, wuhai):
    body = (HEADER + "好诊所,诊所,民营,A-1,乌海,106.82,39.67\n"
            "坏坐标,诊所,民营,A-2,乌海,abc,39.67\n"
            "投影坐标,诊所,民营,A-3,乌海,500000,4400000\n"
            "重复,诊所,民营,A-1,乌海,106.82,39.67\n").encode()
    response = upload(client, headers, body)
    assert response.status_code == 422
    errors = response.get_json()["error"]["details"]["errors"]
    assert sorted({e["line"] for e in errors}) == [3, 4, 5]
    duplicate = next(e for e in errors if e["line"] == 5)
    assert "2" in duplicate["message"]  # names the earlier line
    assert count(db_session) == 0


def test_partial_import_takes_the_good_rows_and_lists_the_bad(client, headers, db_session, wuhai):
    body = (HEADER + "好诊所,诊所,民营,A-1,乌海,106.82,39.67\n"
            "坏坐标,诊所,民营,A-2,乌海,abc,39.67\n").encode()
    response = upload(client, headers, body, partial="true")
    assert response.status_code == 200
    result = response.get_json()
    assert result["created"] == 1 and [e["line"] for e in result["errors"]] == [3]
    assert count(db_session) == 1


def test_mixed_encodings_are_refused(client, headers, db_session, wuhai):
    response = upload(client, headers, (CSV_DIR / "mixed-encodings.csv").read_bytes())
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "mixed_encodings"
    assert count(db_session) == 0


def test_gcj02_coordinates_are_stored_as_wgs84(client, headers, db_session, wuhai):
    lon, lat = wgs84_to_gcj02(106.82, 39.67)
    body = (HEADER + f"好诊所,诊所,民营,A-1,乌海,{lon:.7f},{lat:.7f}\n").encode()
    assert upload(client, headers, body, coordinates="gcj02").status_code == 200
    point = to_shape(db_session.query(Premises).one().location)
    assert point.x == pytest.approx(106.82, abs=1e-6) and point.y == pytest.approx(39.67, abs=1e-6)


def test_supervisor_cannot_import_premises_outside_their_cells(client, db_session, wuhai):
    from server.models import GridCell
    from tests.factories import assign

    admin = make_user(db_session, "admin")
    supervisor = make_user(db_session, "supervisor")
    wuda = db_session.query(GridCell).filter_by(code="156150304").one()
    assign(db_session, admin, supervisor, wuda)
    response = upload(client, auth_headers(db_session, supervisor), GOOD)
    assert response.status_code == 422
    assert {e["code"] for e in response.get_json()["error"]["details"]["errors"]} == {"out_of_scope"}
    assert count(db_session) == 0


def test_cli_import_reports_and_stores(runner, db_session, wuhai, tmp_path):
    result = runner.invoke(args=["premises", "import", str(CSV_DIR / "wuhai-good-gbk.csv"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 5
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "坏坐标,诊所,民营,A-2,乌海,abc,39.67\n").encode())
    failed = runner.invoke(args=["premises", "import", str(bad)])
    assert failed.exit_code != 0 and "line 2" in failed.output


@pytest.fixture
def districts(db_session):
    from tests.factories import assign, make_grid

    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    supervisor = make_user(db_session, "supervisor", "liu")
    assign(db_session, admin, supervisor, grid.cells["D1"])
    return grid, admin, supervisor


def add_premises(db_session, admin, lon, lat, licence_no, **extra):
    from server.services.premises import create_premises

    return create_premises(db_session, admin, {
        "name": "原名诊所", "category_code": "clinic", "ownership": "private",
        "licence_no": licence_no, "address": "原地址", "lon": lon, "lat": lat,
        "contact_name": "原联系人", "contact_phone": "13800000000", **extra})


def stored(db_session, premises_id):
    db_session.expire_all()
    p = db_session.get(Premises, premises_id)
    point = to_shape(p.location)
    return (p.name, p.contact_name, p.contact_phone, p.address, p.cell_id, p.version,
            point.x, point.y)


REFUSED = {"line": 2, "column": None, "code": "out_of_scope",
           "message": "the premises lies outside your cells", "message_zh": "该行无法导入"}
TAKEOVER = ("name,category,ownership,licence_no,address,lon,lat,contact_name,contact_phone\n"
            "新名诊所,clinic,private,{licence},新地址,106.01,39.01,新联系人,13900000000\n")


@pytest.mark.parametrize("partial", ["false", "true"])
def test_district_supervisor_cannot_take_over_an_orphan_by_import(client, db_session, districts,
                                                                  partial):
    _, admin, supervisor, = districts
    orphan = add_premises(db_session, admin, 110.0, 40.0, "ORPHAN-1")
    assert orphan.cell_id is None
    before = stored(db_session, orphan.id)
    response = upload(client, auth_headers(db_session, supervisor),
                      TAKEOVER.format(licence="ORPHAN-1").encode(), partial=partial)
    body = response.get_json()
    errors = body["errors"] if partial == "true" else body["error"]["details"]["errors"]
    assert response.status_code == (200 if partial == "true" else 422)
    assert [(e["line"], e["code"]) for e in errors] == [(2, "out_of_scope")]
    assert errors == [REFUSED]  # naming neither the premises nor its id
    if partial == "true":
        assert (body["created"], body["updated"]) == (0, 0)
    assert stored(db_session, orphan.id) == before
    assert count(db_session) == 1


def test_supervisor_of_every_top_cell_takes_over_an_orphan_by_import(client, db_session,
                                                                     districts):
    from tests.factories import assign

    grid, admin, _ = districts
    chief = make_user(db_session, "supervisor", "chief")
    assign(db_session, admin, chief, grid.cells["D1"])
    assign(db_session, admin, chief, grid.cells["D2"])
    orphan = add_premises(db_session, admin, 110.0, 40.0, "ORPHAN-1")
    response = upload(client, auth_headers(db_session, chief),
                      TAKEOVER.format(licence="ORPHAN-1").encode())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["updated"] == 1
    name, contact, _, _, cell_id, version, _, _ = stored(db_session, orphan.id)
    assert (name, contact, version) == ("新名诊所", "新联系人", 2)
    assert cell_id is not None


def test_import_matching_premises_of_another_district_is_refused(client, db_session, districts):
    _, admin, supervisor = districts
    theirs = add_premises(db_session, admin, 106.15, 39.05, "THEIRS-1")
    before = stored(db_session, theirs.id)
    response = upload(client, auth_headers(db_session, supervisor),
                      TAKEOVER.format(licence="THEIRS-1").encode())
    assert response.status_code == 422
    errors = response.get_json()["error"]["details"]["errors"]
    assert [(e["line"], e["code"]) for e in errors] == [(2, "out_of_scope")]
    assert stored(db_session, theirs.id) == before


def test_import_matching_two_premises_one_out_of_scope_names_neither(client, db_session,
                                                                     districts):
    from server.importers.premises_csv import credit_code_check_character

    _, admin, supervisor = districts
    first17 = "91150300MA0N00001"
    credit = first17 + credit_code_check_character(first17)
    mine = add_premises(db_session, admin, 106.01, 39.01, "MINE-1")
    theirs = add_premises(db_session, admin, 106.15, 39.05, None, credit_code=credit)
    body = ("name,category,ownership,licence_no,credit_code,address,lon,lat\n"
            f"新名诊所,clinic,private,MINE-1,{credit},新地址,106.01,39.01\n").encode()
    before = (stored(db_session, mine.id), stored(db_session, theirs.id))
    response = upload(client, auth_headers(db_session, supervisor), body)
    assert response.status_code == 422
    errors = response.get_json()["error"]["details"]["errors"]
    assert errors == [REFUSED]
    assert (stored(db_session, mine.id), stored(db_session, theirs.id)) == before


def test_import_of_a_new_premises_outside_the_cells_is_refused(client, db_session, districts):
    _, _, supervisor = districts
    for lon, lat in ((106.15, 39.05), (110.0, 40.0)):  # another district; no cell at all
        body = TAKEOVER.format(licence="NEW-1").replace("106.01,39.01", f"{lon},{lat}")
        response = upload(client, auth_headers(db_session, supervisor), body.encode())
        assert response.status_code == 422
        errors = response.get_json()["error"]["details"]["errors"]
        assert [(e["line"], e["code"]) for e in errors] == [(2, "out_of_scope")]
    assert count(db_session) == 0
