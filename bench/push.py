"""Bench: many terminals pushing inspections with photos to gunicorn on PostgreSQL + PostGIS.

Starts a throwaway cluster and gunicorn (both on 127.0.0.1), registers the terminals, then
each terminal pushes batches of inspections (15 item results and 2 photos each) at once.
Prints records/s, photos/s, p50/p95 push latency, lost and duplicated records (must be 0),
and, as the baseline measured in the same run, /healthz requests/s under the same concurrency.

    .venv/bin/python bench/push.py [--terminals 200] [--batches 3] [--batch-size 5] [--workers 4]
                                   [--threads 4]
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
import uuid
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


def photo_bytes(seed):
    from PIL import Image

    image = Image.new("RGB", (320, 240), (seed % 256, (seed // 256) % 256, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def call(base, method, path, token=None, body=None, data=None, headers=None):
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def terminal(base, username, premises_id, lon, lat, template_id, batches, batch_size, out):
    token = call(base, "POST", "/api/v1/devices/", body={
        "username": username, "password": PASSWORD, "device_uid": f"bench-{username}"})["device_token"]
    # Everything a terminal sends is made before the clock starts: the bench times the server.
    work = []
    for batch_number in range(batches):
        records, photos = [], []
        for n in range(batch_size):
            shots = [photo_bytes(hash((username, batch_number, n, k)) & 0xFFFFFF) for k in range(2)]
            hashes = [hashlib.sha256(shot).hexdigest() for shot in shots]
            photos.extend(zip(hashes, shots))
            records.append({"type": "inspection", "client_uuid": str(uuid.uuid4()), "data": {
                "kind": "patrol", "premises_id": premises_id, "template_id": template_id,
                "device_time": datetime.now(UTC).isoformat(),
                "gps": {"lon": lon, "lat": lat, "accuracy_m": 5},
                "items": [{"item_code": f"B-{i:02d}", "result": "compliant"} for i in range(1, 16)],
                "photos": hashes, "conclusion": "compliant"}})
        work.append((json.dumps({"records": records}).encode(), photos))
    out["registered"].wait()  # everyone registered and ready: the clock starts now
    out["ready"].wait()
    headers = {"Content-Type": "application/json"}
    for body, photos in work:
        started = time.perf_counter()
        answer = call(base, "POST", "/api/v1/sync/push", token, data=body, headers=headers)
        out["latencies"].append(time.perf_counter() - started)
        for result in answer["results"]:
            out["statuses"].append(result["status"])
            out["uuids"].append(result["client_uuid"])
        for sha, shot in photos:
            call(base, "PUT", f"/api/v1/photos/{sha}", token, data=shot,
                 headers={"Content-Type": "image/jpeg"})
            out["photos"].append(sha)


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
    server.start()
    base = server.url
    try:
        out = {"ready": threading.Event(), "registered": threading.Barrier(len(plan) + 1),
               "latencies": [], "statuses": [], "uuids": [], "photos": []}
        threads = [threading.Thread(target=terminal, args=(base, username, premises_id, lon, lat,
                                                           template_id, args.batches,
                                                           args.batch_size, out))
                   for username, premises_id, lon, lat in plan]
        for thread in threads:
            thread.start()
        out["registered"].wait()
        started = time.perf_counter()
        out["ready"].set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        health = baseline(base, args.terminals, 5)
    finally:
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
    print(f"{args.terminals} terminals x {args.batches} batches x {args.batch_size} inspections "
          f"(15 items, 2 photos each), gunicorn {args.workers} workers x {args.threads} threads, "
          "PostgreSQL + PostGIS")
    print(f"records : {len(out['statuses']) / elapsed:8.1f}/s   ({len(out['statuses'])} in "
          f"{elapsed:.1f} s; {out['statuses'].count('created')} created)")
    print(f"photos  : {len(out['photos']) / elapsed:8.1f}/s")
    print(f"push latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms")
    print(f"lost {lost}, duplicated {duplicated}; audit chain: {checked} events, "
          f"{'intact' if broken is None else 'BROKEN at ' + str(broken)}")
    print(f"baseline GET /healthz with {args.terminals} clients: {health:.0f} req/s; "
          f"records/s as a share of it: {len(out['statuses']) / elapsed / health:.3f}")
    return 1 if lost or duplicated or broken else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args()
    from tests.pgcluster import throwaway_cluster

    var_dir = Path(os.environ.setdefault("GRID_VAR_DIR", "/tmp/grid-bench-push"))
    var_dir.mkdir(parents=True, exist_ok=True)
    with throwaway_cluster("grid_bench") as url:
        return run(url, args, var_dir)


if __name__ == "__main__":
    sys.exit(main())
