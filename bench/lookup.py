"""Bench: point → cell for 1,000,000 random points against the 103 districts of Inner Mongolia.

Prints points/s for the in-process STRtree lookup and for the same query in PostGIS
(ST_Covers, smallest code on borders) on a throwaway cluster started here, and their ratio.
Both run in this one process on this machine, so the ratio is what to compare between runs.

    .venv/bin/python bench/lookup.py [--points N] [--batch N]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DISTRICTS = ROOT / "tests" / "data" / "boundaries" / "inner-mongolia-districts.geojson"

DATABASE_QUERY = text("""
    SELECT p.i, (
        SELECT c.id FROM grid_cells c
        WHERE c.map_id = :map_id AND ST_Covers(c.geom, p.pt)
          AND NOT EXISTS (SELECT 1 FROM grid_cells k WHERE k.parent_id = c.id)
        ORDER BY c.code COLLATE "C" LIMIT 1)
    FROM (SELECT t.i, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS pt
          FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, i)) p
    ORDER BY p.i
""")


def load_map(session):
    from server.services import grid as grid_service

    grid_map = grid_service.create_map(session, jurisdiction_code="150000", name="内蒙古自治区")
    grid_service.import_level(session, grid_map, DISTRICTS.read_bytes(), level="district",
                              code_property="gb", name_property="name")
    grid_service.activate_map(session, grid_map)
    return grid_map


def random_points(grid_map, count, seed=20261122):
    from geoalchemy2.shape import to_shape

    bounds = np.array([to_shape(c.geom).bounds for c in grid_map.cells])
    rng = np.random.default_rng(seed)
    lons = rng.uniform(bounds[:, 0].min(), bounds[:, 2].max(), count)
    lats = rng.uniform(bounds[:, 1].min(), bounds[:, 3].max(), count)
    return lons, lats


def run(database_url, count, batch):
    from flask_migrate import upgrade

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.services.lookup import cell_index

    app = create_app(TestConfig(database_url))
    with app.app_context():
        upgrade()
        with transaction():
            grid_map = load_map(db.session)
        lons, lats = random_points(grid_map, count)

        started = time.perf_counter()
        index = cell_index(db.session, grid_map)
        built = time.perf_counter() - started
        started = time.perf_counter()
        in_process = index.lookup_many(lons, lats)
        in_process_s = time.perf_counter() - started

        started = time.perf_counter()
        in_database = []
        for start in range(0, count, batch):
            rows = db.session.execute(DATABASE_QUERY, {
                "map_id": grid_map.id, "xs": lons[start:start + batch].tolist(),
                "ys": lats[start:start + batch].tolist()}).all()
            in_database.extend(cell for _, cell in rows)
        database_s = time.perf_counter() - started
        db.session.rollback()
        db.engine.dispose()

    covered = sum(cell is not None for cell in in_process)
    disagree = sum(a != b for a, b in zip(in_process, in_database))
    print(f"points: {count:,} random in the bounding box of the 103 "
          f"districts; {covered:,} fall in a district, {count - covered:,} in none")
    print(f"STRtree index built in {built * 1000:.0f} ms")
    print(f"in-process STRtree : {count / in_process_s:>12,.0f} points/s  ({in_process_s:.2f} s)")
    print(f"PostGIS ST_Covers  : {count / database_s:>12,.0f} points/s  ({database_s:.2f} s)")
    print(f"ratio in-process / PostGIS: {database_s / in_process_s:.1f}x")
    print(f"answers that differ: {disagree}")
    return disagree


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args()
    from tests.pgcluster import throwaway_cluster

    os.environ.setdefault("GRID_VAR_DIR", "/tmp/grid-bench-var")
    with throwaway_cluster("grid_bench") as url:
        return 1 if run(url, args.points, args.batch) else 0


if __name__ == "__main__":
    sys.exit(main())
