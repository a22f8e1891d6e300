"""Bench: the scope check as path ranges against the old correlated LIKE, on PostGIS.

Builds a province-like grid (100 districts × 10 streets × 10 communities = 11,100 cells)
with bulk inserts on a throwaway cluster, a coordinator of one community and a province
supervisor assigned to all 100 districts, and prints for each the median time of counting the
cells in scope both ways, and whether the ranges' plan scans grid_cells sequentially.

    .venv/bin/python bench/scope_ranges.py [--rounds 20]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SQUARE = "MULTIPOLYGON(((0 0,0.001 0,0.001 0.001,0 0.001,0 0)))"


def build(session):
    from sqlalchemy import text

    from server.services.users import create_user

    session.execute(text("INSERT INTO grid_maps (jurisdiction_code, name, version, status, "
                         "created_at) VALUES ('150000', 'bench', 1, 'active', now())"))
    map_id = session.scalar(text("SELECT max(id) FROM grid_maps"))
    next_id = [session.scalar(text("SELECT coalesce(max(id), 0) FROM grid_cells")) + 1]
    rows = []

    def cell(level, parent, path, code):
        cell_id = next_id[0]
        next_id[0] += 1
        rows.append({"id": cell_id, "map_id": map_id, "parent_id": parent, "level": level,
                     "code": code, "name": code, "path": f"{path}{cell_id}/"})
        return cell_id, f"{path}{cell_id}/"

    districts = []
    for d in range(100):
        district = cell("district", None, "/", f"D{d:03d}")
        districts.append(district[0])
        for s in range(10):
            street = cell("street", district[0], district[1], f"D{d:03d}S{s}")
            for c in range(10):
                cell("community", street[0], street[1], f"D{d:03d}S{s}C{c}")
    session.execute(text(
        "INSERT INTO grid_cells (id, map_id, parent_id, level, code, name, path, area_m2, geom) "
        f"VALUES (:id, :map_id, :parent_id, :level, :code, :name, :path, 0, "
        f"ST_GeomFromText('{SQUARE}', 4326))"), rows)
    session.execute(text("SELECT setval(pg_get_serial_sequence('grid_cells', 'id'), "
                         "(SELECT max(id) FROM grid_cells))"))
    admin = create_user(session, username="bench-admin", role="admin", password="bench-password")
    coordinator = create_user(session, username="bench-one", role="coordinator",
                              password="bench-password")
    province = create_user(session, username="bench-province", role="supervisor",
                           password="bench-password")
    community = rows[-1]["id"]
    assignments = [{"u": coordinator.id, "c": community}] + [
        {"u": province.id, "c": d} for d in districts]
    session.execute(text("INSERT INTO cell_assignments (user_id, cell_id, duty, valid_from, "
                         "created_at, created_by_id) VALUES (:u, :c, '[]', :f, now(), NULL)"),
                    [{**a, "f": date(2020, 1, 1)} for a in assignments])
    session.flush()
    return admin, coordinator, province


def old_clause(user):
    from sqlalchemy import exists, select
    from sqlalchemy.orm import aliased

    from server.models import CellAssignment, GridCell
    from server.services.scope import active_assignment_clause

    assigned = aliased(GridCell)
    return exists(select(1).select_from(CellAssignment)
                  .join(assigned, assigned.id == CellAssignment.cell_id)
                  .where(CellAssignment.user_id == user.id, active_assignment_clause(),
                         assigned.map_id == GridCell.map_id,
                         GridCell.path.startswith(assigned.path, autoescape=False)))


def timed(session, query, rounds):
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        count = session.scalar(query)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, count


def run(url, rounds):
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.models import GridCell
    from server.services.scope import cell_scope_clause, resolve_scope

    app = create_app(TestConfig(url))
    with app.app_context():
        upgrade()
        session = db.session
        with transaction():
            _, coordinator, province = build(session)
        session.execute(text("ANALYZE"))
        print(f"grid_cells: {session.scalar(select(func.count(GridCell.id))):,}")
        for name, user in (("coordinator of 1 community", coordinator),
                           ("province supervisor, 100 districts", province)):
            count_new = select(func.count()).select_from(GridCell).where(cell_scope_clause(user))
            count_old = select(func.count()).select_from(GridCell).where(old_clause(user))
            started = time.perf_counter()
            for _ in range(rounds):
                resolve_scope(user)
            resolve_ms = (time.perf_counter() - started) / rounds * 1000
            new_ms, new_n = timed(session, count_new, rounds)
            old_ms, old_n = timed(session, count_old, rounds)
            assert new_n == old_n, (new_n, old_n)
            plan = "\n".join(row[0] for row in session.execute(
                text("EXPLAIN " + str(count_new.compile(
                    dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})))))
            seq = "Seq Scan on grid_cells" in plan
            print(f"{name}: {new_n:,} cells; ranges {new_ms:.2f} ms (+ resolve {resolve_ms:.2f}"
                  f" ms), LIKE {old_ms:.2f} ms, ratio {old_ms / new_ms:.1f}x; "
                  f"seq scan: {seq}")
        db.session.remove()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    from tests.pgcluster import throwaway_cluster

    os.environ.setdefault("GRID_VAR_DIR", "/tmp/grid-bench-var")
    with throwaway_cluster("grid_bench") as url:
        run(url, args.rounds)


if __name__ == "__main__":
    main()
