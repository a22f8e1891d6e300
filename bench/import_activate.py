"""Bench: premises import per row at 10k and 100k rows, and map activation with and without
100,000 premises, on a throwaway PostGIS cluster (or --database-url).

The map is the 103 Inner Mongolia districts; premises are random points inside them. Each
activation is a new version of the same districts, so every premises changes cell (the worst
case). Prints seconds, per-row times and ratios.

    .venv/bin/python bench/import_activate.py [--rows 10000,100000] [--premises 100000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DISTRICTS = ROOT / "tests" / "data" / "boundaries" / "inner-mongolia-districts.geojson"


def csv_bytes(index, count, seed):
    """A premises CSV of count rows at random points inside the districts."""
    from grid_maps import CellIndex  # noqa: F401 - index given

    rng = np.random.default_rng(seed)
    lons, lats = [], []
    while len(lons) < count:
        xs, ys = rng.uniform(97.2, 126.1, count * 3), rng.uniform(37.4, 53.4, count * 3)
        found = index.lookup_many(xs, ys)
        for x, y, cell in zip(xs, ys, found):
            if cell is not None and len(lons) < count:
                lons.append(x)
                lats.append(y)
    lines = ["name,category,ownership,licence_no,address,lon,lat,contact_name,contact_phone\n"]
    for n, (x, y) in enumerate(zip(lons, lats)):
        lines.append(f"诊所{n},clinic,private,L{seed}-{n:07d},内蒙古某地{n}号,{x:.6f},{y:.6f},"
                     f"联系人{n % 100},1380000{n % 10000:04d}\n")
    return "".join(lines).encode()


def new_version(session, number):
    from server.services import grid as grid_service

    grid_map = grid_service.create_map(session, jurisdiction_code="150000",
                                       name=f"内蒙古自治区 v{number}")
    grid_service.import_level(session, grid_map, DISTRICTS.read_bytes(), level="district",
                              code_property="gb", name_property="name")
    return grid_map


def activate(number):
    from server.db import checkpoint, transaction
    from server.extensions import db
    from server.services import grid as grid_service

    with transaction():
        draft = new_version(db.session, number)
    started = time.perf_counter()
    with transaction():
        result = grid_service.activate_map(db.session, db.session.merge(draft),
                                           after_batch=lambda done, total: checkpoint())
    return time.perf_counter() - started, result


def run(database_url, rows, premises, methods):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.services import premises as premises_service
    from server.services.lookup import active_maps, cell_index

    app = create_app(TestConfig(database_url))
    figures = {}
    with app.app_context():
        upgrade()
        version = 1
        seconds, _ = activate(version)
        index = cell_index(db.session, active_maps(db.session)[0])
        version += 1
        seconds, _ = activate(version)
        figures["activation, no premises"] = seconds
        print(f"activation without premises: {seconds:.2f} s", flush=True)
        for count in rows:
            data = csv_bytes(index, count, seed=count)
            with transaction():
                db.session.execute(text("DELETE FROM premises"))
            started = time.perf_counter()
            with transaction():
                summary = premises_service.import_premises_csv(db.session, None, data)
            seconds = time.perf_counter() - started
            assert summary["created"] == count, summary
            figures[f"import {count}"] = seconds
            print(f"import {count:>7,} rows: {seconds:7.2f} s, {seconds / count * 1000:.3f} ms/row"
                  f" ({len(data) / 1e6:.1f} MB)", flush=True)
        have = db.session.scalar(text("SELECT count(*) FROM premises"))
        if have < premises:
            with transaction():
                premises_service.import_premises_csv(
                    db.session, None, csv_bytes(index, premises - have, seed=7))
        for method in methods:
            premises_service.REDERIVE_METHOD = method
            version += 1
            seconds, result = activate(version)
            figures[f"activation {method}"] = seconds
            base = figures["activation, no premises"]
            print(f"activation with {premises:,} premises ({method}): {seconds:.2f} s, "
                  f"{result['premises_moved']:,} moved; ratio to no premises "
                  f"{seconds / base:.1f}x", flush=True)
        db.session.remove()
        db.engine.dispose()
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        ratio = (figures[f"import {large}"] / large) / (figures[f"import {small}"] / small)
        print(f"import per-row ratio {large:,} / {small:,}: {ratio:.2f}")
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--premises", type=int, default=100_000)
    parser.add_argument("--methods", default="sql,python")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    rows = [int(n) for n in args.rows.split(",") if n]
    methods = [m for m in args.methods.split(",") if m]
    os.environ.setdefault("GRID_VAR_DIR", "/tmp/grid-bench-var")
    if args.database_url:
        run(args.database_url, rows, args.premises, methods)
        return 0
    from tests.pgcluster import throwaway_cluster

    with throwaway_cluster("grid_bench") as url:
        run(url, rows, args.premises, methods)
    return 0


if __name__ == "__main__":
    sys.exit(main())
