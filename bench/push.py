"""Bench: many terminals pushing inspections with photos to gunicorn on PostgreSQL + PostGIS.

Starts a throwaway cluster and gunicorn (both on 127.0.0.1). Each terminal is the reference
client (sync.client) with its own outbox: it signs in, records its inspections (15 item
results and 2 unique textured ~320 KB 800x600 JPEGs each, like a phone's) on its disk, then, all at once when the clock starts, pushes:
photos first, then the records in batches. Prints records/s, photos/s, p50/p95 push latency,
lost and duplicated records (must be 0), whether the audit chain is intact, and, as the
baseline measured in the same run, /healthz requests/s under the same concurrency.

    .venv/bin/python bench/push.py [--terminals 200] [--batches 3] [--batch-size 5] [--workers 4]
                                   [--threads 4] [--photo-size 800x600] [--small-photos]
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password"


def template_document():
    return {"code": "bench_fifteen", "version": 1, "title": "压测检查表", "title_en": "Bench",
            "categories": ["clinic"],
            "items": [{"code": f"B-{n:02d}", "text": f"检查项{n}", "severity": "minor"}
                      for n in range(1, 16)]}


def prepare(session, terminals):
    from geoalchemy2.shape import to_shape

    from server.services.assignments import create_assignment
    from server.services.checklists import load_template
    from server.services.premises import create_premises
    from server.services.users import create_user
    from tests.factories import make_wuhai_map

    grid_map = make_wuhai_map(session, streets_per_district=10)
    admin = create_user(session, username="bench-admin", role="admin", password=PASSWORD)
    load_template(session, template_document())
    streets = sorted(grid_map.cells.filter_by(level="street").all(), key=lambda c: c.code)
    plan = []
    for n in range(terminals):
        street = streets[n % len(streets)]
        user = create_user(session, username=f"t{n:04d}", role="coordinator", password=PASSWORD)
        create_assignment(session, admin, user_id=user.id, cell_id=street.id)
        point = to_shape(street.geom).representative_point()
        premises = create_premises(session, admin, {
            "name": f"压测诊所{n}", "category_code": "clinic", "ownership": "private",
            "licence_no": f"PUSH-{n:05d}", "address": "乌海市", "lon": point.x, "lat": point.y})
        plan.append((user.username, premises.id, point.x, point.y))
    return plan


def photo_bytes(label, size, small=False):
    """A JPEG unique to its label: by default a textured ~320 KB 800x600 photo like a phone's
    (coloured blobs under per-pixel grain, quality 90); with small=True a flat single-colour
    one of a few KB (the label kept in its comment)."""
    import numpy as np
    from PIL import Image

    seed = int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big")
    buffer = io.BytesIO()
    if small:
        image = Image.new("RGB", size, (seed % 256, (seed // 256) % 256, 90))
        image.save(buffer, "JPEG", quality=80, comment=label.encode())
        return buffer.getvalue()
    rng = np.random.default_rng(seed)
    width, height = size
    blobs = rng.integers(0, 256, size=(height // 6 + 2, width // 6 + 2, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(blobs).resize(size, Image.BICUBIC), dtype=np.float32)
    grain = rng.normal(0.0, 24.0, size=(height, width, 3)).astype(np.float32)
    Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(buffer, "JPEG",
                                                                         quality=90)
    return buffer.getvalue()


def terminal(base, username, premises_id, lon, lat, template_id, args, work_dir, out):
    """One terminal: the reference client with its own outbox, recording then pushing."""
    from sync.client import Client

    class TimedClient(Client):
        """Times pushes, and counts the 5xx answers and network errors the client retried."""

        def request(self, method, path, **kwargs):
            started = time.perf_counter()
            answer = super().request(method, path, **kwargs)
            if path == "/api/v1/sync/push":
                out["latencies"].append(time.perf_counter() - started)
            return answer

        def _connection_to(self, server):
            connection = super()._connection_to(server)
            if not getattr(connection, "counted", False):
                send = connection.request

                def counted(*args, **kwargs):
                    try:
                        answer = send(*args, **kwargs)
                    except Exception:
                        out["failures"].append("network")
                        raise
                    if answer[0] >= 500:
                        out["failures"].append(answer[0])
                    return answer

                connection.request, connection.counted = counted, True
            return connection

    client = TimedClient(work_dir / f"{username}.sqlite3", timeout=300, retries=3)
    try:
        client.login(base, username, PASSWORD, device_uid=f"bench-{username}")
        # What a terminal sends is recorded on its disk before the clock starts.
        for n in range(args.batches * args.batch_size):
            paths = []
            for k in range(2):
                path = work_dir / f"{username}-{n}-{k}.jpg"
                data = photo_bytes(f"{username}/{n}/{k}", args.photo_size, args.small_photos)
                path.write_bytes(data)
                out["photo_bytes"].append(len(data))
                paths.append(path)
            out["uuids"].append(client.outbox.add_record("inspection", {
                "kind": "patrol", "premises_id": premises_id, "template_id": template_id,
                "device_time": datetime.now(UTC).isoformat(),
                "gps": {"lon": lon, "lat": lat, "accuracy_m": 5},
                "items": [{"item_code": f"B-{i:02d}", "result": "compliant"}
                          for i in range(1, 16)],
                "conclusion": "compliant"}, paths))
        out["registered"].wait()  # everyone is ready: the clock starts now
        out["ready"].wait()
        summary = client.push(batch_size=args.batch_size)
        out["summaries"].append(summary)
    finally:
        client.close()


def call(base, method, path):
    with urllib.request.urlopen(urllib.request.Request(base + path, method=method),
                                timeout=120) as response:
        return json.loads(response.read() or b"null")


def baseline(base, threads, requests_each):
    def hammer():
        for _ in range(requests_each):
            call(base, "GET", "/healthz")

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * requests_each / (time.perf_counter() - started)


def run(url, args, var_dir):

    from flask_migrate import upgrade
    from sqlalchemy.engine import make_url

    from front import nginx_front
    from cpu import machine_cpu_seconds, postmaster_pid, self_cpu_seconds, tree_cpu_seconds
    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.models import ChecklistTemplate, Inspection
    from server.services.audit import verify_chain
    from server.services.passwords import use_fast_hashing
    from tests.live import ServerProcess

    use_fast_hashing(True)
    app = create_app(TestConfig(url))
    with app.app_context():
        upgrade()
        with transaction():
            plan = prepare(db.session, args.terminals)
        template_id = db.session.query(ChecklistTemplate.id).filter_by(code="bench_fifteen").scalar()
        db.session.remove()
    server = ServerProcess(url, var_dir, var_dir / "photos")
    server.command[server.command.index("--workers") + 1] = str(args.workers)
    server.command[server.command.index("--threads") + 1] = str(args.threads)
    if args.front == "nginx":  # as deployed: see deploy/gunicorn.conf.py, keepalive
        server.command[-1:-1] = ["--keep-alive", "0"]
    server.start()
    front = contextlib.ExitStack()
    try:
        base, front_pid = server.url, None
        if args.front == "nginx":
            base, front_pid = front.enter_context(nginx_front(server.port, var_dir / "nginx"))
        out = {"ready": threading.Event(), "registered": threading.Barrier(len(plan) + 1),
               "latencies": [], "uuids": [], "summaries": [], "photo_bytes": [], "failures": []}
        work_dir = var_dir / "terminals"
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        threads = [threading.Thread(target=terminal, args=(base, username, premises_id, lon, lat,
                                                           template_id, args, work_dir, out))
                   for username, premises_id, lon, lat in plan]
        for thread in threads:
            thread.start()
        out["registered"].wait()
        postmaster = postmaster_pid(make_url(url).port)
        cpu_before = (tree_cpu_seconds(server.process.pid), tree_cpu_seconds(postmaster),
                      self_cpu_seconds(), tree_cpu_seconds(front_pid), *machine_cpu_seconds())
        started = time.perf_counter()
        out["ready"].set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        cpu = [after - before for before, after in zip(cpu_before, (
            tree_cpu_seconds(server.process.pid), tree_cpu_seconds(postmaster),
            self_cpu_seconds(), tree_cpu_seconds(front_pid), *machine_cpu_seconds()))]
        health = baseline(base, args.terminals, 5)
    finally:
        front.close()
        server.close()
    with app.app_context():
        stored = db.session.query(Inspection.client_uuid, Inspection.id).filter(
            Inspection.client_uuid.in_(out["uuids"])).all()
        checked, broken = verify_chain(db.session)  # concurrent commits kept the chain whole
        db.session.remove()
        db.engine.dispose()
    expected = args.terminals * args.batches * args.batch_size
    counted = {}
    for client_uuid, _ in stored:
        counted[client_uuid] = counted.get(client_uuid, 0) + 1
    lost = expected - len(counted)
    duplicated = sum(n - 1 for n in counted.values())
    latencies = sorted(out["latencies"])
    totals = {key: sum(summary[key] for summary in out["summaries"])
              for key in ("created", "duplicate", "rejected", "conflict", "photos")}
    answered = sum(totals[key] for key in ("created", "duplicate", "rejected", "conflict"))
    print(f"{args.terminals} terminals x {args.batches} batches x {args.batch_size} inspections "
          f"(15 items, 2 photos each), gunicorn {args.workers} workers x {args.threads} threads"
          f"{' behind nginx' if args.front == 'nginx' else ''}, PostgreSQL + PostGIS")
    print(f"records : {answered / elapsed:8.1f}/s   ({answered} in {elapsed:.1f} s; "
          f"{totals['created']} created, {totals['rejected']} rejected, "
          f"{totals['conflict']} conflicts)")
    mean_kb = statistics.mean(out["photo_bytes"]) / 1024
    print(f"photos  : {totals['photos'] / elapsed:8.1f}/s   ({totals['photos']} stored, "
          f"unique, mean {mean_kb:.0f} KB, {args.photo_size[0]}x{args.photo_size[1]}; "
          f"{totals['photos'] * mean_kb / 1024 / elapsed:.1f} MB/s)")
    print(f"push latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms")
    server_errors = sum(1 for failure in out["failures"] if failure != "network")
    print(f"5xx answers {server_errors}, network errors "
          f"{len(out['failures']) - server_errors} (each retried by the client)")
    print(f"lost {lost}, duplicated {duplicated}; audit chain: {checked} events, "
          f"{'intact' if broken is None else 'BROKEN at ' + str(broken)}")
    capacity = cpu[4] + cpu[5]  # the machine's busy and idle seconds over all cores
    print(f"CPU during the push, share of all {os.cpu_count()} cores: server (gunicorn) "
          f"{cpu[0] / capacity:.0%}, database {cpu[1] / capacity:.0%}, "
          f"bench client {cpu[2] / capacity:.0%}, nginx {cpu[3] / capacity:.0%}, anything else "
          f"{(cpu[4] - sum(cpu[:4])) / capacity:.0%}, idle {cpu[5] / capacity:.0%}")
    print(f"baseline GET /healthz with {args.terminals} clients: {health:.0f} req/s; "
          f"records/s as a share of it: {answered / elapsed / health:.3f}")
    return 1 if lost or duplicated or broken or server_errors or len(out["summaries"]) != len(plan) else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--photo-size", type=lambda text: tuple(map(int, text.split("x"))),
                        default=(800, 600), help="photo width x height, e.g. 1600x1200")
    parser.add_argument("--small-photos", action="store_true",
                        help="flat single-colour JPEGs of a few KB instead of textured ~320 KB ones")
    parser.add_argument("--front", choices=("nginx", "none"), default=None,
                        help="what terminals connect to: nginx in front of gunicorn as deployed "
                             "(the default when nginx is installed), or gunicorn directly")
    args = parser.parse_args()
    if args.front is None:
        from front import nginx_available

        args.front = "nginx" if nginx_available() else "none"
    from tests.pgcluster import throwaway_cluster

    var_dir = Path(os.environ.setdefault("GRID_VAR_DIR", "/tmp/grid-bench-push"))
    var_dir.mkdir(parents=True, exist_ok=True)
    with throwaway_cluster("grid_bench") as url:
        return run(url, args, var_dir)


if __name__ == "__main__":
    sys.exit(main())
