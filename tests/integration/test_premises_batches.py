"""Set-based work on many premises: activation re-derives cells in batches, import in batches."""

import pytest
from shapely.geometry import box
from sqlalchemy import func, select

from server.models import AuditEvent, ChangeEvent, Premises
from server.services import grid as grid_service
from server.services import premises as service
from server.services.lookup import locate
from tests.factories import as_bytes, feature_collection, make_grid, make_user

HEADER = "name,category,ownership,licence_no,address,lon,lat,contact_name\n"


def csv_rows(count, *, start=0, contact="张三"):
    lines = [f"诊所{n},clinic,private,B-{n:05d},某地,{106.003 + (n % 97) * 0.002:.6f},"
             f"{39.003 + (n // 97 % 48) * 0.002:.6f},{contact}\n" for n in range(start, count)]
    return (HEADER + "".join(lines)).encode()


def premises_events(session):
    return session.scalars(select(ChangeEvent.entity_id).where(
        ChangeEvent.entity_type == "premises").order_by(ChangeEvent.seq)).all()


@pytest.fixture
def many(db_session):
    """The test grid with 40 premises spread over both districts, three on borders."""
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    summary = service.import_premises_csv(db_session, admin, csv_rows(37))
    assert summary["created"] == 37
    for n, (lon, lat) in enumerate([(106.1, 39.05), (106.05, 39.05), (106.1, 39.1)]):
        service.create_premises(db_session, admin, {
            "name": f"边界{n}", "category_code": "clinic", "ownership": "private",
            "licence_no": f"EDGE-{n}", "address": "边界", "lon": lon, "lat": lat})
    return grid, admin


@pytest.mark.parametrize("method", ["python", "sql"])
def test_activation_moves_each_premises_once_with_one_event(db_session, many, method):
    if method == "sql" and db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("the spatial join is PostgreSQL's; SpatiaLite uses the STRtree")
    draft = grid_service.create_map(db_session, jurisdiction_code="T1", name="v2")
    grid_service.import_level(db_session, draft, as_bytes(feature_collection(
        [("D1", "甲区", box(106.0, 39.0, 106.1, 39.1)),
         ("D2", "乙区", box(106.1, 39.0, 106.15, 39.1))])), level="district")
    grid_service._require_draft(draft)
    before = len(premises_events(db_session))
    draft.status, draft.activated_at = "active", grid_service.utcnow()
    old = many[0].map
    old.status = "retired"
    db_session.flush()
    batches = []
    moved, orphans = service.rederive_cells(db_session, batch_size=7, method=method,
                                            after_batch=lambda d, t: batches.append((d, t)))
    assert batches == [(min(n, 40), 40) for n in range(7, 47, 7)]
    assert moved == 40 and orphans == sum(  # beyond 106.15 the new map has no cell
        1 for p in db_session.scalars(select(Premises)) if p.cell_id is None)
    events = premises_events(db_session)[before:]
    assert len(events) == len(set(events)) == 40  # one event per premises moved
    db_session.expire_all()
    for premises in db_session.scalars(select(Premises)):
        from geoalchemy2.shape import to_shape

        point = to_shape(premises.location)
        assert premises.cell_id == locate(db_session, point.x, point.y)  # as the STRtree says
    # Again: nothing changes, nothing is written, no event.
    for again in ("python", method):
        assert service.rederive_cells(db_session, method=again) == (0, orphans)
    assert len(premises_events(db_session)) == before + 40


def test_activation_through_the_service_keeps_its_summary(db_session, many):
    draft = grid_service.create_map(db_session, jurisdiction_code="T1", name="v2")
    grid_service.import_level(db_session, draft, as_bytes(feature_collection(
        [("E1", "东区", box(106.1, 39.0, 106.2, 39.1))])), level="district")
    result = grid_service.activate_map(db_session, draft)
    east = db_session.scalar(select(func.count()).select_from(Premises)
                             .where(Premises.cell_id.is_not(None)))
    assert result["premises_moved"] == 40
    assert result["premises_orphaned"] == 40 - east > 0
    audits = db_session.scalars(select(AuditEvent.details).where(
        AuditEvent.action == "premises.rederive_cells")).all()
    assert sum(d["moved"] for d in audits) == 40


def test_an_import_of_several_batches_checks_and_writes_every_row(db_session, monkeypatch):
    make_grid(db_session)
    admin = make_user(db_session, "admin")
    monkeypatch.setattr(service, "IMPORT_BATCH", 100)
    steps = []
    summary = service.import_premises_csv(db_session, admin, csv_rows(450),
                                          progress=lambda d, t, phase: steps.append((d, t, phase)))
    assert (summary["created"], summary["updated"], summary["errors"]) == (450, 0, [])
    assert steps[-1] == (900, 900, "written") and [s[0] for s in steps] == sorted(
        s[0] for s in steps)
    assert len(premises_events(db_session)) == 450
    # Again with three rows changed and one bad: partial takes the good ones.
    body = csv_rows(450).decode().replace("诊所7,", "诊所七,").replace("诊所300,", "诊所三百,")
    body = body.replace("B-00101,某地,106.011000", "B-00101,某地,106.013000")
    body += "坏行,clinic,private,B-99999,某地,abc,39.01,李四\n"
    summary = service.import_premises_csv(db_session, admin, body.encode(), partial=True)
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 3, 447)
    assert [e["line"] for e in summary["errors"]] == [452]
    db_session.expire_all()
    changed = db_session.scalar(select(Premises).where(Premises.licence_no == "B-00007"))
    assert (changed.name, changed.version) == ("诊所七", 2)
    assert len(premises_events(db_session)) == 453
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "premises.import")) == 453


def test_the_cli_import_writes_its_progress_to_stderr(runner, db_session, tmp_path):
    make_grid(db_session)
    path = tmp_path / "some.csv"
    path.write_bytes(csv_rows(5))
    result = runner.invoke(args=["premises", "import", str(path), "--progress"])
    assert result.exit_code == 0, result.output
    assert "checked 5/5 rows" in result.stderr and "written 5/5 rows" in result.stderr
    assert "5 created" in result.stdout and "rows" not in result.stdout
