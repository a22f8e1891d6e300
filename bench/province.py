"""Bench: a province on one machine — lists, pulls, changes, activation, import, map data.

Builds (or reuses, with --cache) the province data set of bench/province_data.py on a PostGIS
cluster: the 103 Inner Mongolia districts cut into ~10,000 communities, 100,000 premises,
1,000,000 inspections. Serves a copy of it with gunicorn and measures over HTTP, each figure
with its baseline from the same run, the ratio and the goal of issue 10, and GET /healthz:

  lists       inspections list, page 1 and page 1,000 (offset, or the cursor when the API
              gives one), coordinator / city / province supervisor
  pulls       first pull (snapshot, limit 1000) of the city and the province supervisor
  changes     pull after 95,000 premises changes vs the snapshot of the same scope
  activation  activating a new map version with the premises vs without (service, committed)
  import      `flask premises import` per row, 10,000 then 100,000 new rows
  map         /map/cells.geojson of the province supervisor (?level=district when served)

    .venv/bin/python bench/province.py [--quick | --scale 0.1] [--inspections N]
                                       [--only lists,pulls,...] [--cache DIR] [--rounds 3]
"""

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from province_data import (
    PASSWORD,
    Shape,
    create_database,
    database_url,
    MAP_LEVELS,
    ensure_templates,
    root_level,
)

MEASURES = ("lists", "map", "pulls", "changes", "activation", "import")
USERS = ("coordinator", "city", "province")
ISSUE_IMPORT_MS_PER_ROW = 3.51  # issue 10: 351 s for 100,000 rows, on the filer's machine


class Report:
    """Collects and prints figures: figure, baseline, ratio, goal, PASS/MISS."""

    def __init__(self):
        self.health_ms = None
        self.rows = []

    def line(self, name, figure, baseline, goal, unit="ms", note="", http=True):
        ratio = figure / baseline if baseline else float("inf")
        verdict = "-" if goal is None else ("PASS" if ratio <= goal else "MISS")
        self.rows.append((name, figure, baseline, ratio, goal, verdict, unit, note))
        health = (f"  = {figure / self.health_ms:,.0f}x healthz"
                  if http and unit == "ms" and self.health_ms else "")
        goal_text = f"<= {goal:g}" if goal is not None else "info"
        print(f"{name:<44} {figure:>12,.1f} {unit:<3} vs {baseline:>12,.1f} {unit:<3} "
              f"ratio {ratio:7.2f}  goal {goal_text:<7} {verdict}{health}"
              f"{'  (' + note + ')' if note else ''}", flush=True)

    def failed(self, name, reason):
        self.rows.append((name, 0, 0, 0, None, "MISS", "", reason))
        print(f"{name:<44} FAILED: {reason}", flush=True)

    def summary(self):
        misses = [row[0] for row in self.rows if row[5] == "MISS"]
        print(f"\n/healthz median of medians {self.health_ms:.2f} ms; {len(self.rows)} figures, "
              f"{sum(row[5] == 'PASS' for row in self.rows)} PASS, {len(misses)} MISS"
              + (f": {', '.join(misses)}" if misses else ""))


class Api:
    """A signed-in HTTP client (requests) against the server under test."""

    def __init__(self, base, username):
        import requests

        self.base, self.http = base, requests.Session()
        answer = self.http.post(f"{base}/api/v1/auth/token",
                                json={"username": username, "password": PASSWORD}, timeout=60)
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['token']}"

    def get(self, path, **params):
        started = time.perf_counter()
        answer = self.http.get(self.base + path, params=params, timeout=3600)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        return answer, elapsed * 1000


def timed(call, rounds):
    """Median ms of rounds calls after one untimed warm-up (skipped for calls over 5 s)."""
    _, first = call()
    if first > 5000:
        return first
    return statistics.median(call()[1] for _ in range(rounds))


def healthz(base, count=50):
    import requests

    http = requests.Session()
    http.get(f"{base}/healthz", timeout=60)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        http.get(f"{base}/healthz", timeout=60).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# --- measures ------------------------------------------------------------------------------

def measure_lists(ctx, report):
    """Inspections list page 1 and the deep page (1,000, or the last there is) per user."""
    first, deep = {}, {}
    for role in USERS:
        api = ctx["api"][role]
        answer, _ = api.get("/api/v1/inspections/", limit=100)
        cursor = answer.headers.get("X-Next-Cursor") or answer.links.get("next", {}).get("url")
        first[role] = timed(lambda api=api: api.get("/api/v1/inspections/", limit=100),
                            ctx["rounds"])
        in_scope = ctx["counts"][role]
        last_page = max(1, -(-in_scope // 100))
        page = min(ctx["deep_page"], last_page)
        if page == 1:  # the whole scope fits on page 1: the deep page is page 1 again
            deep[role], mode = timed(lambda api=api: api.get("/api/v1/inspections/", limit=100),
                                     ctx["rounds"]), "one page"
        elif cursor:
            deep[role], mode = walk_to(api, answer, page), "cursor"
        else:
            deep[role] = timed(lambda api=api, page=page: api.get(
                "/api/v1/inspections/", limit=100, offset=(page - 1) * 100), ctx["rounds"])
            mode = "offset"
        report.line(f"list {role}: page {page} vs page 1", deep[role], first[role], 1.5,
                    note=f"{mode}; {in_scope:,} inspections in scope")
    for role in ("city", "province"):
        report.line(f"list page 1: {role} vs coordinator", first[role], first["coordinator"], 2)
    report.line("list deep page: province vs coordinator", deep["province"], deep["coordinator"],
                2)


def walk_to(api, answer, page):
    """Follow the next-page cursor from page 1 to `page`; return the ms of that last page."""
    elapsed = 0.0
    for _ in range(page - 1):
        link = answer.links.get("next", {}).get("url")
        if link:
            started = time.perf_counter()
            answer = api.http.get(link if link.startswith("http") else api.base + link,
                                  timeout=3600)
            elapsed = (time.perf_counter() - started) * 1000
        else:
            answer, elapsed = api.get("/api/v1/inspections/", limit=100,
                                      cursor=answer.headers["X-Next-Cursor"])
        answer.raise_for_status()
    return elapsed


def full_pull(api, limit=1000):
    """Pull from scratch until done; return (ms, items, bytes, last page)."""
    cursor, items, size, started = None, 0, 0, time.perf_counter()
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer, _ = api.get("/api/v1/sync/pull", **params)
        page = answer.json()
        items += len(page["items"])
        size += len(answer.content)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return (time.perf_counter() - started) * 1000, items, size, page


def measure_pulls(ctx, report):
    results = {}
    for role in ("city", "province"):
        ms, items, size, last = full_pull(ctx["api"][role])
        results[role] = (ms, items)
        ctx.setdefault("snapshots", {})[role] = (ms, items, last)
        print(f"  first pull {role}: {items:,} items, {size / 1e6:.1f} MB, {ms / 1000:.1f} s",
              flush=True)
    per_item = {role: ms / max(1, items) for role, (ms, items) in results.items()}
    report.line("first pull per item: province vs city", per_item["province"] * 1000,
                per_item["city"] * 1000, 1.5, unit="us",
                note=f"{results['province'][1]:,} vs {results['city'][1]:,} items")


def measure_changes(ctx, report):
    """Change premises in bulk as services/changes.py records them; pull from the cursor."""
    api = ctx["api"]["province"]
    if "province" not in ctx.get("snapshots", {}):
        measure_pulls(ctx, Report())
    snapshot_ms, snapshot_items, last = ctx["snapshots"]["province"]
    changed = bulk_change_premises(ctx, ctx["changes"])
    started, items, cursor = time.perf_counter(), 0, last["next_cursor"]
    while True:
        answer, _ = api.get("/api/v1/sync/pull", limit=1000, cursor=cursor, scope=last["scope"])
        page = answer.json()
        if page.get("reset"):
            raise RuntimeError("the pull after the changes was answered as a reset")
        items += len(page["items"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    ms = (time.perf_counter() - started) * 1000
    report.line(f"pull after {changed:,} changes vs snapshot", ms, snapshot_ms, 1,
                note=f"{items:,} items vs a snapshot of {snapshot_items:,}")


def bulk_change_premises(ctx, count):
    """Update `count` premises (version, phone) and append their feed events; return count."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from server.db import transaction
    from server.extensions import db

    now = datetime.now(UTC)
    with ctx["app"].app_context(), transaction():
        session = db.session
        rows = session.execute(text(
            "UPDATE premises SET version = version + 1, updated_at = now(), "
            "contact_phone = '139' || lpad((id % 100000000)::text, 8, '0') "
            "WHERE id IN (SELECT id FROM premises WHERE cell_id IS NOT NULL ORDER BY id "
            "LIMIT :count) RETURNING id, cell_id"), {"count": count}).all()
        head = session.execute(text(
            "UPDATE change_feed_head SET last_seq = last_seq + :n WHERE id = 1 "
            "RETURNING last_seq"), {"n": len(rows)}).scalar_one()
        from province_data import copy_rows

        copy_rows(session, "change_events", ("seq", "entity_type", "entity_id", "op", "cell_id",
                                             "at"),
                  [(head - len(rows) + 1 + n, "premises", str(premises_id), "upsert", cell_id,
                    now)
                   for n, (premises_id, cell_id) in enumerate(sorted(rows))])
    with ctx["app"].app_context(), transaction():
        db.session.execute(text("ANALYZE premises"))
        db.session.execute(text("ANALYZE change_events"))
    return len(rows)


def measure_activation(ctx, report):
    """Activate a copy of the map as version 2: on the full data set, and on the map alone."""
    times = {}
    for label, url in (("with premises", ctx["url"]), ("without premises", ctx["map_url"])):
        times[label], moved = activate_copy(url)
        print(f"  activation {label}: {times[label] / 1000:.1f} s, {moved:,} premises moved",
              flush=True)
    report.line("activation: with vs without premises", times["with premises"],
                times["without premises"], 3, http=False)


def activate_copy(url):
    from sqlalchemy import func, select, text

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.models import GridCell, GridMap, User
    from server.services.grid import activate_map

    app = create_app(TestConfig(url))
    with app.app_context():
        session = db.session
        with transaction():
            old = session.scalar(select(GridMap).where(GridMap.status == "active"))
            draft = GridMap(jurisdiction_code=old.jurisdiction_code, name=old.name,
                            version=old.version + 1, status="draft", levels=old.levels)
            session.add(draft)
            session.flush()
            offset = session.scalar(select(func.max(GridCell.id)))
            session.execute(text(
                "INSERT INTO grid_cells (id, map_id, parent_id, level, code, name, path, area_m2, "
                "geom) SELECT id + :off, :new, parent_id + :off, level, code, name, '/' || "
                "array_to_string(ARRAY(SELECT (x::bigint + :off)::text FROM unnest("
                "string_to_array(trim(both '/' from path), '/')) WITH ORDINALITY u(x, i) "
                "ORDER BY i), '/') || '/', area_m2, geom FROM grid_cells WHERE map_id = :old"),
                {"off": offset, "new": draft.id, "old": old.id})
            session.execute(text("SELECT setval('grid_cells_id_seq', "
                                 "(SELECT max(id) FROM grid_cells))"))
            draft_id = draft.id
            admin_id = session.scalar(select(User.id).where(User.username == "bench-admin"))
        with transaction():
            session.execute(text("ANALYZE grid_cells"))
        started = time.perf_counter()
        with transaction():
            result = activate_map(session, session.get(GridMap, draft_id),
                                  actor=session.get(User, admin_id))
        elapsed = (time.perf_counter() - started) * 1000
        db.session.remove()
        db.engine.dispose()
    return elapsed, result["premises_moved"]


def measure_import(ctx, report):
    """`flask premises import` of new rows: per-row time at the small and the large size."""
    per_row = {}
    small, large = ctx["imports"]
    # What the command costs before it reads a row: subtracted, so per-row time is per row.
    startup = statistics.median(flask_command(ctx, "premises", "import", "--help")[0]
                                for _ in range(3))
    for rows in (small, large):
        path = ctx["var_dir"] / f"import-{rows}.csv"
        write_import_csv(ctx, path, rows, start=sum(per_row) + 1)
        try:
            elapsed, output, peak_mb = flask_command(ctx, "premises", "import", str(path))
        except RuntimeError as error:
            report.failed(f"import {rows:,} rows", str(error))
            return
        per_row[rows] = (elapsed - startup) / rows
        print(f"  import {rows:,} rows: {elapsed / 1000:.1f} s ({startup / 1000:.1f} s of it "
              f"start-up), {per_row[rows]:.3f} ms/row, peak {peak_mb:.0f} MB; "
              f"{output.strip().splitlines()[-1]}", flush=True)
    report.line(f"import per row: {large:,} vs {small:,} rows", per_row[large], per_row[small],
                1.2, note=f"issue 10 measured {ISSUE_IMPORT_MS_PER_ROW} ms/row at 100k", http=False)
    # Goal: at least 5x faster per row than the issue's figure (another machine: indicative).
    report.line(f"import per row at {large:,}: now vs issue 10", per_row[large],
                ISSUE_IMPORT_MS_PER_ROW, 0.2, note="goal >= 5x faster; issue measured on "
                "another machine", http=False)


def flask_command(ctx, *args):
    """Run `flask --app server ARGS` on the run database; return (ms, output, peak RSS MB)."""
    env = dict(os.environ, DATABASE_URL=ctx["url"], SECRET_KEY="bench",
               GRID_VAR_DIR=str(ctx["var_dir"]))
    started = time.perf_counter()
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "server", *args],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = (time.perf_counter() - started) * 1000
    if status:
        cause = re.findall(r"^[\w.]*(?:Error|Exception): .{0,240}", output, re.MULTILINE)
        raise RuntimeError(f"flask {args[0]} {args[1]} failed: "
                           f"{cause[0] if cause else output[-300:]}")
    return elapsed, output, usage.ru_maxrss / 1024


def write_import_csv(ctx, path, rows, start):
    """New premises at random points of random communities, in the import template's columns."""
    import random

    from geoalchemy2.shape import to_shape
    from sqlalchemy import select

    from server.extensions import db
    from server.models import GridCell, GridMap

    rng = random.Random(rows)
    if "community_shapes" not in ctx:
        with ctx["app"].app_context():
            cells = db.session.scalars(select(GridCell).join(GridMap).where(
                GridMap.status == "active", GridCell.level == "community")).all()
            ctx["community_shapes"] = [to_shape(c.geom) for c in cells]
            db.session.remove()
    shapes = ctx["community_shapes"]
    lines = ["name,category,ownership,licence_no,address,lon,lat"]
    for n in range(rows):
        point = shapes[rng.randrange(len(shapes))].representative_point()
        lon, lat = point.x + rng.uniform(-1e-4, 1e-4), point.y + rng.uniform(-1e-4, 1e-4)
        lines.append(f"导入压测单位{start}-{n},clinic,private,IMP-{rows}-{n:07d},内蒙古自治区,"
                     f"{lon:.7f},{lat:.7f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def measure_map(ctx, report):
    """The province's map data on the map page at full extent: bytes and time."""
    import requests

    http = requests.Session()
    page = http.get(f"{ctx['base']}/login", timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    http.post(f"{ctx['base']}/login", data={"username": "bench-province", "password": PASSWORD,
                                            **({"csrf_token": token.group(1)} if token else {})},
              timeout=60).raise_for_status()

    params = {"level": "district", "zoom": ctx["map_zoom"]}

    def fetch(encoding):
        started = time.perf_counter()
        answer = http.get(f"{ctx['base']}/map/cells.geojson", params=params,
                          headers={"Accept-Encoding": encoding}, timeout=600, stream=True)
        wire = answer.raw.read(decode_content=False)
        answer.raise_for_status()
        return (answer, wire), (time.perf_counter() - started) * 1000

    (answer, raw), _ = fetch("identity")
    ms = timed(lambda: fetch("identity"), ctx["rounds"])
    (gz_answer, gz_wire), _ = fetch("gzip")
    gz_ms = timed(lambda: fetch("gzip"), ctx["rounds"])
    served_gzip = gz_answer.headers.get("Content-Encoding") == "gzip"
    gz_size = len(gz_wire) if served_gzip else len(gzip.compress(raw, 6))
    etag = answer.headers.get("ETag")
    revalidated = None
    if etag:
        started = time.perf_counter()
        again = http.get(f"{ctx['base']}/map/cells.geojson", params=params,
                         headers={"If-None-Match": etag}, timeout=600)
        revalidated = (again.status_code, (time.perf_counter() - started) * 1000)
    features = json.loads(raw)["features"]
    levels = sorted({f["properties"].get("level") for f in features})
    note = (f"?level=district&zoom={ctx['map_zoom']}: {len(features):,} features, levels "
            f"{','.join(levels)}; gzip {gz_size / 1e3:,.0f} kB "
            f"({'served' if served_gzip else 'not served; local'}) in {gz_ms:,.0f} ms; "
            f"identity {ms:,.0f} ms"
            + (f"; If-None-Match {revalidated[0]} in {revalidated[1]:,.0f} ms"
               if revalidated else "; no ETag"))
    report.line("map data province: MB vs 1 MB", len(raw) / 1e6, 1.0, 1, unit="MB", note=note)
    report.line("map data province: ms identity", ms, report.health_ms, None)
    report.line("map data province: ms gzip", gz_ms, report.health_ms, None)


# --- running -------------------------------------------------------------------------------

def scope_counts(app):
    """Inspections in each measured user's scope, read through the app's own scope query."""
    from sqlalchemy import func, select

    from server.extensions import db
    from server.models import User
    from server.services.inspections import inspections_query

    counts = {}
    with app.app_context():
        for role in USERS:
            user = db.session.scalar(select(User).where(User.username == f"bench-{role}"))
            query = inspections_query(user).order_by(None)
            counts[role] = db.session.scalar(select(func.count()).select_from(query.subquery()))
        db.session.remove()
    return counts


def run(admin_url, args):
    from server import create_app
    from server.config import TestConfig
    from server.extensions import db
    from tests.live import ServerProcess

    shape = Shape.scaled(args.scale, args.inspections, args.items)
    print(f"data set: {shape}; levels {' > '.join(MAP_LEVELS)}; the province supervisor on the "
          f"{root_level()} root, the city supervisor on one city cell", flush=True)
    full, map_only = ensure_templates(admin_url, shape)
    started = time.perf_counter()
    create_database(admin_url, "province_run", template=full)
    create_database(admin_url, "province_run_map", template=map_only)
    print(f"copied the templates in {time.perf_counter() - started:.0f} s", flush=True)
    url = database_url(admin_url, "province_run")
    from flask_migrate import upgrade

    app = create_app(TestConfig(url))
    with app.app_context():
        upgrade()  # a template built before newer migrations is brought up to date
        db.session.remove()
    var_dir = Path(os.environ.get("GRID_VAR_DIR", "/tmp/grid-bench-province"))
    var_dir.mkdir(parents=True, exist_ok=True)
    ctx = {"app": app, "url": url, "map_url": database_url(admin_url, "province_run_map"),
           "rounds": args.rounds, "deep_page": 1000, "var_dir": var_dir, "map_zoom": 5,
           "changes": max(100, round(95_000 * args.scale)),
           "imports": args.import_rows or (max(100, round(10_000 * args.scale)),
                                           max(1000, round(100_000 * args.scale)))}
    ctx["counts"] = scope_counts(app)
    print("inspections in scope: " + ", ".join(f"{r} {n:,}" for r, n in ctx["counts"].items()))
    server = ServerProcess(url, var_dir, var_dir / "photos")
    server.command[server.command.index("--threads") + 1] = "2"
    server.command[-1:-1] = ["--timeout", "3600", "--error-logfile", str(var_dir / "gunicorn.log")]
    print(f"server errors go to {var_dir / 'gunicorn.log'}")
    server.start()
    report = Report()
    try:
        ctx["base"] = server.url
        ctx["api"] = {role: Api(server.url, f"bench-{role}") for role in USERS}
        health = []
        for name in MEASURES:
            if name in args.only:
                # The baseline beside each measure: the database may still be settling.
                health.append(healthz(server.url))
                report.health_ms = statistics.median(health)
                print(f"GET /healthz median {health[-1]:.2f} ms (gunicorn 1 worker, 2 threads)",
                      flush=True)
                started = time.perf_counter()
                globals()[f"measure_{name}"](ctx, report)
                print(f"  ({name}: {time.perf_counter() - started:.0f} s)", flush=True)
        health.append(healthz(server.url))
        report.health_ms = statistics.median(health)
    finally:
        server.close()
        with app.app_context():
            db.engine.dispose()
    report.summary()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink premises, inspections, changes and imports by this factor")
    parser.add_argument("--quick", action="store_true", help="a smoke run: --scale 0.02")
    parser.add_argument("--inspections", type=int, default=None,
                        help="inspections to store (default 1,000,000 x scale)")
    parser.add_argument("--items", type=int, default=1, help="item results per inspection")
    parser.add_argument("--only", default=",".join(MEASURES),
                        help=f"comma-separated measures among {','.join(MEASURES)}")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each request")
    parser.add_argument("--import-rows", type=lambda text: tuple(int(n) for n in text.split(",")),
                        default=None, help="SMALL,LARGE rows to import (default 10000,100000 "
                                           "x scale)")
    parser.add_argument("--cache", default=os.environ.get("PROVINCE_BENCH_CACHE"),
                        help="keep the cluster and the built data set here and reuse them")
    args = parser.parse_args()
    if args.quick:
        args.scale = 0.02
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures {sorted(unknown)}; choose among {', '.join(MEASURES)}")
    from province_data import cluster

    from server.services.passwords import use_fast_hashing

    use_fast_hashing(True)
    with cluster(args.cache) as admin_url:
        return run(admin_url, args)


if __name__ == "__main__":
    sys.exit(main())
