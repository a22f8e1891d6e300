"""Bench: an incremental pull of 100 changes, on a database holding N and then 10×N premises.

A terminal's pull should cost what changed since its cursor, not what the database holds.
Prints the median time of the same pull (100 premises changed in the coordinator's cells)
with the small and the 10× larger database, both measured in this run on a throwaway
PostgreSQL + PostGIS cluster, and their ratio (near 1 is right).

    .venv/bin/python bench/pull.py [--base 1000] [--rounds 15]
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(session, rng):
    from geoalchemy2.shape import to_shape

    from server.services.assignments import create_assignment
    from server.services.checklists import load_templates
    from server.services.users import create_user
    from tests.factories import make_wuhai_map

    grid_map = make_wuhai_map(session, streets_per_district=10)
    admin = create_user(session, username="bench-admin", role="admin", password="bench-password")
    coordinator = create_user(session, username="bench-wang", role="coordinator",
                              password="bench-password")
    cells = sorted(grid_map.cells.filter_by(level="street").all(), key=lambda c: c.code)
    mine = cells[0]
    create_assignment(session, admin, user_id=coordinator.id, cell_id=mine.id)
    load_templates(session)
    shapes = {cell.id: to_shape(cell.geom) for cell in cells}
    return admin, coordinator, mine, cells, shapes


def add_premises(session, admin, cells, shapes, count, rng, start):
    from server.services.premises import create_premises

    created = []
    for n in range(count):
        cell = cells[rng.randrange(len(cells))]
        point = shapes[cell.id].representative_point()
        created.append(create_premises(session, admin, {
            "name": f"压测单位{start + n}", "category_code": "clinic", "ownership": "private",
            "licence_no": f"BENCH-{start + n:07d}", "address": "乌海市",
            "lon": point.x, "lat": point.y}))
    session.flush()
    return created


def measure(session, admin, coordinator, own_premises, rounds, rng):
    from server.db import transaction
    from server.services.premises import update_premises
    from server.services.pull import pull

    with transaction():
        page = pull(session, coordinator, cursor=None)
    cursor, scope = page["next_cursor"], page["scope"]
    timings = []
    for _ in range(rounds):
        with transaction():
            for premises in rng.sample(own_premises, min(100, len(own_premises))):
                update_premises(session, admin, premises.id,
                                {"contact_phone": str(rng.random())[:12]},
                                base_version=premises.version)
        started = time.perf_counter()
        items = 0
        while True:
            page = pull(session, coordinator, cursor=cursor, known_scope=scope, limit=200)
            items += len(page["items"])
            cursor, scope = page["next_cursor"], page["scope"]
            if not page["has_more"]:
                break
        timings.append(time.perf_counter() - started)
        transaction_end(session)
        assert items == min(100, len(own_premises)), items
    return statistics.median(timings)


def run(url, base, rounds):
    from flask_migrate import upgrade

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.models import ChangeEvent, Premises

    rng = random.Random(20261122)
    app = create_app(TestConfig(url))
    with app.app_context():
        upgrade()
        session = db.session
        with transaction():
            admin, coordinator, mine, cells, shapes = build(session, rng)
            others = [c for c in cells if c.id != mine.id]
            # The coordinator's street holds 150 premises; the rest of the city the remainder.
            own = add_premises(session, admin, [mine], shapes, 150, rng, 0)
            add_premises(session, admin, others, shapes, base - 150, rng, 150)
        small = measure(session, admin, coordinator, own, rounds, rng)
        size_small = (session.query(Premises).count(), session.query(ChangeEvent).count())
        with transaction():
            add_premises(session, admin, others, shapes, 9 * base, rng, base)
        large = measure(session, admin, coordinator, own, rounds, rng)
        size_large = (session.query(Premises).count(), session.query(ChangeEvent).count())
        db.session.remove()
        db.engine.dispose()
    print(f"database: {size_small[0]:,} premises / {size_small[1]:,} feed events, then "
          f"{size_large[0]:,} / {size_large[1]:,}")
    print(f"incremental pull of 100 changes, median of {rounds}: small {small * 1000:.1f} ms, "
          f"10x {large * 1000:.1f} ms")
    print(f"ratio 10x / small: {large / small:.2f}")


def transaction_end(session):
    """End the read transaction of a timed pull (the pull itself only reads)."""
    session.rollback()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from tests.pgcluster import throwaway_cluster

    os.environ.setdefault("GRID_VAR_DIR", "/tmp/grid-bench-var")
    with throwaway_cluster("grid_bench") as url:
        run(url, args.base, args.rounds)


if __name__ == "__main__":
    main()
