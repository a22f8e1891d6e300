"""Bench: the follow-ups sweep with D obligations due, on a database holding N and then 10×N.

The sweep (flask followups sweep) should cost what is due, not what the database holds. Stores
N rectification orders, each with its recheck task assigned to two officers, of which D are
due (in the reminder window or past it), half the rest open and due months ahead, half passed
with their deadline behind them (history); times the sweep
(median of rounds after a warm-up, each raising every notification afresh and rolled back); then stores 9×N
more not due and times it again with the same D due. Prints both and their ratio (goal ≤ 1.2).
Runs on a throwaway PostgreSQL + PostGIS cluster.

    .venv/bin/python bench/sweep.py [--base 2000] [--due 100] [--rounds 9]
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TODAY = date.today()


def build(session, rng):
    """The Wuhai map cut into streets, officers and supervisors on them, premises, one inspection."""
    from server.services.assignments import create_assignment
    from server.services.checklists import load_templates
    from server.services.users import create_user
    from tests.factories import make_inspection, make_premises, make_wuhai_map

    grid_map = make_wuhai_map(session, streets_per_district=10)
    admin = create_user(session, username="bench-admin", role="admin", password="bench-password")
    load_templates(session)
    streets = sorted(grid_map.cells.filter_by(level="street").all(), key=lambda c: c.code)
    districts = grid_map.cells.filter_by(level="district").all()
    officers = []
    for n, cell in enumerate(streets):
        for role, count in (("officer", 2), ("supervisor", 1)):
            for k in range(count):
                user = create_user(session, username=f"bench-{role}-{n}-{k}", role=role,
                                   password="bench-password")
                create_assignment(session, admin, user_id=user.id, cell_id=cell.id)
                if role == "officer":
                    officers.append((cell.id, user.id))
    for n, cell in enumerate(districts):
        user = create_user(session, username=f"bench-chief-{n}", role="supervisor",
                           password="bench-password")
        create_assignment(session, admin, user_id=user.id, cell_id=cell.id)
    premises = [make_premises(session, admin, streets[n % len(streets)]) for n in range(60)]
    inspection = make_inspection(session, admin, premises[0])
    session.flush()
    staff = {}
    for cell_id, user_id in officers:
        staff.setdefault(cell_id, []).append(user_id)
    return admin, premises, inspection, staff


def store(session, admin, premises, inspection, staff, count, due, rng, start):
    """Insert `count` orders with their recheck tasks in bulk (Core); `due` of them due now.

    Of the others, half are open and due months ahead, half are history: passed orders
    whose deadline is behind (their task done), which a sweep must not read either.
    """
    from sqlalchemy import func, select

    from server.models import RectificationOrder, Task
    from server.models.tasks import task_assignees

    task_id = (session.scalar(select(func.max(Task.id))) or 0) + 1
    order_id = (session.scalar(select(func.max(RectificationOrder.id))) or 0) + 1
    tasks, orders, assignees = [], [], []
    for n in range(count):
        place = premises[rng.randrange(len(premises))]
        closed = n >= due and n % 2 == 1
        if n < due:  # spread over the reminder window and 1..20 days overdue
            deadline = TODAY + timedelta(days=rng.randint(-20, 2))
        elif closed:
            deadline = TODAY - timedelta(days=rng.randint(1, 730))
        else:
            deadline = TODAY + timedelta(days=rng.randint(30, 365))
        tasks.append({"id": task_id + n, "kind": "rectification_recheck",
                      "premises_id": place.id, "cell_id": place.cell_id, "due_date": deadline,
                      "status": "done" if closed else "open", "origin": f"order:{order_id + n}", "note": "bench",
                      "created_by_id": admin.id})
        orders.append({"id": order_id + n, "client_uuid": f"bench-{start + n}",
                       "content_hash": "0" * 64, "premises_id": place.id,
                       "cell_id": place.cell_id, "inspection_id": inspection.id,
                       "findings": [], "measures": "bench", "issued_on": TODAY,
                       "deadline": deadline, "deadline_source": "explicit",
                       "state": "passed" if closed else "issued",
                       "task_id": task_id + n, "issued_by_id": admin.id})
        assignees += [{"task_id": task_id + n, "user_id": user_id}
                      for user_id in staff[place.cell_id]]
    for rows, table in ((tasks, Task.__table__), (orders, RectificationOrder.__table__),
                        (assignees, task_assignees)):
        for chunk in range(0, len(rows), 5000):
            session.execute(table.insert(), rows[chunk:chunk + 5000])


def measure(session, rounds):
    from server.services.followups.escalation import load_rules, sweep

    rules = load_rules()
    timings, counts = [], None
    sweep(session, None, rules=rules, today=TODAY)  # warm-up, not timed
    session.rollback()
    for _ in range(rounds):
        started = time.perf_counter()
        counts = sweep(session, None, rules=rules, today=TODAY)
        session.flush()
        timings.append(time.perf_counter() - started)
        session.rollback()  # the next round raises them all afresh
    return statistics.median(timings), min(timings), counts


def analyze(session):
    from sqlalchemy import text

    from server.db import transaction

    with transaction():
        session.execute(text("ANALYZE"))


def run(url, base, due, rounds, explain=False):
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.models import RectificationOrder, Task

    rng = random.Random(20261206)
    app = create_app(TestConfig(url))
    with app.app_context():
        upgrade()
        session = db.session
        with transaction():
            admin, premises, inspection, staff = build(session, rng)
            store(session, admin, premises, inspection, staff, base, due, rng, 0)
        analyze(session)
        small, small_min, small_counts = measure(session, rounds)
        size_small = (session.scalar(select(func.count()).select_from(RectificationOrder)),
                      session.scalar(select(func.count()).select_from(Task)))
        with transaction():
            store(session, admin, premises, inspection, staff, 9 * base, 0, rng, base)
        analyze(session)
        large, large_min, large_counts = measure(session, rounds)
        if explain:
            show_plans(session)
        size_large = (session.scalar(select(func.count()).select_from(RectificationOrder)),
                      session.scalar(select(func.count()).select_from(Task)))
        db.session.remove()
        db.engine.dispose()
    # An order's recheck task is read as the order (services/followups/overdue.py): D items.
    assert small_counts["items_read"] == large_counts["items_read"] == due, \
        (small_counts, large_counts)
    raised = small_counts["reminders"] + small_counts["escalations"]
    print(f"database: {size_small[0]:,} orders + {size_small[1]:,} tasks, then "
          f"{size_large[0]:,} + {size_large[1]:,}; {due} orders due (their recheck tasks are read as the orders)")
    print(f"sweep raising {raised} notifications ({small_counts['reminders']} reminders, "
          f"{small_counts['escalations']} escalations), median of {rounds}: "
          f"N {small * 1000:.1f} ms, 10N {large * 1000:.1f} ms")
    print(f"fastest of {rounds}: N {small_min * 1000:.1f} ms, 10N {large_min * 1000:.1f} ms "
          f"(ratio {large_min / small_min:.2f})")
    print(f"ratio 10N / N: {large / small:.2f} (goal <= 1.2)")


def show_plans(session):
    """Print the plan of each source's due-items query at 10N: index ranges, no full scans."""
    from datetime import timedelta

    from sqlalchemy import text

    from server.services.followups.overdue import SOURCES, due_rows

    for kind, source in SOURCES.items():
        query = due_rows(source, on_or_before=TODAY + timedelta(days=2))
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        print(f"plan of the {kind} source:")
        for (line,) in session.execute(text(f"EXPLAIN {compiled}")):
            print(f"    {line}")
    session.rollback()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=2000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--explain", action="store_true", help="print the query plans at 10N")
    args = parser.parse_args()
    from tests.pgcluster import throwaway_cluster

    os.environ.setdefault("GRID_VAR_DIR", "/tmp/grid-bench-var")
    with throwaway_cluster("grid_bench") as url:
        run(url, args.base, args.due, args.rounds, args.explain)


if __name__ == "__main__":
    main()
