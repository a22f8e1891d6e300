"""The reference terminal against a real HTTP server: pull, record, push, and faults in between."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.client import Client, ServerRefused
from tests.factories import CLINIC_CELL, PASSWORD, jpeg_bytes, make_premises, make_world
from tests.live import CuttingProxy, close_sockets, live_app


def prepare(session):
    """The shared world, with a second clinic in wang's cell."""
    world = make_world(session)
    make_premises(session, world.admin, world.grid.cells[CLINIC_CELL])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_app(tmp_path_factory.mktemp("live"), prepare) as (url, app):
        yield url, app


@pytest.fixture
def terminal(server, tmp_path):
    url, _ = server
    client = Client(tmp_path / "terminal.sqlite3", sleep=lambda seconds: None, timeout=5,
                    chunk_size=4096)
    client.login(url, "wang", PASSWORD)
    yield client
    client.close()


def entities(client, kind):
    return [json.loads(data) for (data,) in client.outbox.db.execute(
        "SELECT data FROM entities WHERE type = ? ORDER BY id", (kind,))]


def inspection_for(client, premises):
    template = next(t for t in entities(client, "checklist")
                    if premises["category_code"] in t["categories"])
    items = [{"item_code": item["code"], "result": "compliant"} for item in template["items"]
             if not item["categories"] or premises["category_code"] in item["categories"]]
    return {"kind": "patrol", "premises_id": premises["id"], "template_id": template["id"],
            "device_time": datetime.now(UTC).isoformat(),
            "gps": {"lon": premises["lon"], "lat": premises["lat"], "accuracy_m": 5},
            "items": items, "conclusion": "compliant"}


def server_counts(app, uuids):
    from server.extensions import db
    from server.models import Inspection

    with app.app_context():
        rows = db.session.query(Inspection.client_uuid).filter(
            Inspection.client_uuid.in_(uuids)).all()
        db.session.remove()
        db.engine.dispose()  # close its connections: some of these apps outlive the test
    return sorted(uuid for (uuid,) in rows)


def test_pull_brings_the_coordinators_cells_premises_and_checklists(terminal):
    assert terminal.pull() > 0
    status = terminal.outbox.status()["entities"]
    assert status["premises"] == 2 and status["cell"] == 1 and status["checklist"] == 4


def test_recorded_inspections_with_photos_reach_the_server_once(terminal, server, tmp_path):
    _, app = server
    terminal.pull()
    premises = entities(terminal, "premises")[0]
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_bytes(11, size=(400, 300)))
    uuid = terminal.outbox.add_record("inspection", inspection_for(terminal, premises), [photo])
    summary = terminal.push()
    assert (summary["created"], summary["photos"]) == (1, 1)
    assert terminal.outbox.status()["records"] == {"sent": 1}
    assert terminal.push()["created"] == 0  # nothing re-sent
    # A terminal killed after the server answered but before it noted the answer replays:
    terminal.outbox.db.execute("UPDATE records SET state = 'queued'")
    assert terminal.push()["duplicate"] == 1
    assert server_counts(app, [uuid]) == [uuid]


def test_a_small_photo_takes_one_request_and_a_large_one_resumes_in_chunks(terminal, tmp_path):
    terminal.pull()
    premises = entities(terminal, "premises")[0]
    small, large = tmp_path / "small.jpg", tmp_path / "large.jpg"
    small.write_bytes(jpeg_bytes(21, size=(120, 90)))
    large.write_bytes(jpeg_bytes(22, size=(640, 480)))
    terminal.chunk_size = small.stat().st_size + 1
    assert large.stat().st_size > 2 * terminal.chunk_size
    terminal.outbox.add_record("inspection", inspection_for(terminal, premises), [small, large])
    sent, request = [], terminal.request

    def counting(method, path, **kwargs):
        sent.append((method, path))
        return request(method, path, **kwargs)

    terminal.request = counting
    summary = terminal.push(batch_size=1)
    assert (summary["created"], summary["photos"]) == (1, 2)

    def requests_for(photo):
        sha = hashlib.sha256(photo.read_bytes()).hexdigest()
        return [method for method, path in sent if path == f"/api/v1/photos/{sha}/upload"]

    assert requests_for(small) == ["PATCH"]  # sent whole, at once
    chunks = -(-large.stat().st_size // terminal.chunk_size)
    assert requests_for(large) == ["GET"] + ["PATCH"] * chunks  # how far did it get? then on


def test_a_rejected_record_is_set_aside_and_the_queue_goes_on(terminal):
    terminal.pull()
    premises = entities(terminal, "premises")[0]
    bad = inspection_for(terminal, premises)
    bad["items"] = bad["items"][1:]
    terminal.outbox.add_record("inspection", bad)
    terminal.outbox.add_record("inspection", inspection_for(terminal, premises))
    summary = terminal.push()
    assert (summary["rejected"], summary["created"]) == (1, 1)
    [problem] = terminal.outbox.status()["problems"]
    assert problem["state"] == "rejected" and problem["result"]["code"] == "items_invalid"


def test_a_revoked_device_keeps_its_outbox(terminal, server):
    terminal.pull()
    premises = entities(terminal, "premises")[0]
    terminal.request("DELETE", "/api/v1/auth/token")
    terminal.outbox.add_record("inspection", inspection_for(terminal, premises))
    with pytest.raises(ServerRefused) as refused:
        terminal.push()
    assert refused.value.code == "device_revoked"
    assert terminal.outbox.status()["records"] == {"queued": 1}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_connections_cut_at_random_lose_and_duplicate_nothing(server, tmp_path, seed):
    url, app = server
    upstream = int(url.rsplit(":", 1)[1])
    proxy = CuttingProxy(upstream, rate=0.4, seed=seed)
    client = Client(tmp_path / "t.sqlite3", sleep=lambda seconds: None, timeout=5, retries=30,
                    chunk_size=2048)
    try:
        client.outbox.set(server=f"http://127.0.0.1:{proxy.port}")
        client.login(f"http://127.0.0.1:{proxy.port}", "wang", PASSWORD,
                     device_uid=f"cut-{seed}")
        client.pull()
        premises = entities(client, "premises")
        uuids = []
        for n in range(12):
            photo = tmp_path / f"{seed}-{n}.jpg"
            photo.write_bytes(jpeg_bytes(seed * 100 + n, size=(200 + n, 150)))
            uuids.append(client.outbox.add_record(
                "inspection", inspection_for(client, premises[n % 2]), [photo]))
        client.push()
        assert client.outbox.status()["records"] == {"sent": 12}
        assert client.outbox.status()["photos"] == {"stored": 12}
        assert server_counts(app, uuids) == sorted(uuids)
        assert proxy.cuts > 0
    finally:
        proxy.close()
        client.close()


@pytest.mark.parametrize("seed", [4, 5])
def test_kept_alive_connections_cut_at_random_lose_and_duplicate_nothing(tmp_path, seed):
    """Under gunicorn a connection carries many requests; each is cut at random on its own."""
    from tests.live import ServerProcess, prepared_database

    url, app = prepared_database(tmp_path, prepare)
    server = ServerProcess(url, tmp_path / "var", tmp_path / "photos")
    server.start()
    proxy = CuttingProxy(server.port, rate=0.3, seed=seed)
    client = Client(tmp_path / "t.sqlite3", sleep=lambda seconds: None, timeout=10, retries=40,
                    chunk_size=2048)
    try:
        client.login(f"http://127.0.0.1:{proxy.port}", "wang", PASSWORD, device_uid=f"ka-{seed}")
        client.pull()
        premises = entities(client, "premises")
        uuids = []
        for n in range(20):
            photo = tmp_path / f"ka{n}.jpg"
            photo.write_bytes(jpeg_bytes(seed * 1000 + n, size=(160 + n, 120)))
            uuids.append(client.outbox.add_record(
                "inspection", inspection_for(client, premises[n % 2]), [photo]))
        client.push(batch_size=4)
        assert client.outbox.status()["records"] == {"sent": 20}
        assert client.outbox.status()["photos"] == {"stored": 20}
        assert server_counts(app, uuids) == sorted(uuids)
        assert proxy.cuts > 0
        # Fewer connections than requests: they were kept alive, and cut while alive.
        assert proxy.connections < client._connection.requests
    finally:
        proxy.close()
        client.close()
        server.close()


def test_a_server_killed_mid_batch_and_restarted_loses_and_duplicates_nothing(tmp_path):
    """SIGKILL the server while a push is on the wire; restart it; the terminal finishes."""
    from tests.live import ServerProcess, prepared_database

    url, app = prepared_database(tmp_path, prepare)
    server = ServerProcess(url, tmp_path / "var", tmp_path / "photos")
    server.start()
    kills_wanted = 3

    def sleep(seconds):  # the client's backoff: bring a killed server back
        if not server.alive():
            server.start()

    client = Client(tmp_path / "t.sqlite3", sleep=sleep, timeout=10, retries=40, chunk_size=2048)
    proxy = None
    try:
        client.login(server.url, "wang", PASSWORD, device_uid="kill-1")
        client.pull()
        premises = entities(client, "premises")
        uuids = []
        for n in range(150):
            photo = tmp_path / f"k{n}.jpg"
            photo.write_bytes(jpeg_bytes(700 + n, size=(120 + n, 90)))
            uuids.append(client.outbox.add_record(
                "inspection", inspection_for(client, premises[n % 2]), [photo] if n % 10 == 0 else []))
        # Kill the server after a given number of bytes reach it, several times over.
        proxy = KillingProxy(server, every_bytes=60_000, kills=kills_wanted)
        client.outbox.set(server=f"http://127.0.0.1:{proxy.port}")
        client.push()
        assert server.kills == kills_wanted
        assert client.outbox.status()["records"] == {"sent": 150}
        assert server_counts(app, uuids) == sorted(uuids)
    finally:
        if proxy:
            proxy.close()
        client.close()
        server.close()


class KillingProxy(CuttingProxy):
    """Forward everything; SIGKILL the server each time another `every_bytes` went up while
    it was running."""

    def __init__(self, server, every_bytes, kills):
        self.server = server
        self.every_bytes = every_bytes
        self.kills_left = kills
        self.upstream_bytes = 0
        super().__init__(server.port, rate=0.0, seed=0)

    def _pipe(self, source, target, direction, link, *both):
        if direction == "up":
            return self._count_up(source, target, both)
        return super()._pipe(source, target, direction, link, *both)

    def _count_up(self, source, target, both):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
                with self.lock:
                    self.upstream_bytes += len(data)
                    due = (self.kills_left and self.upstream_bytes >= self.every_bytes
                           and self.server.alive())
                    if due:
                        self.upstream_bytes = 0
                        self.kills_left -= 1
                if due:
                    self.server.kill()
        except OSError:
            pass
        close_sockets(both)


STEPS = ("record", "record_with_photo", "push", "push_through_cuts", "replay", "reregister",
         "restart_terminal")


@given(steps=st.lists(st.sampled_from(STEPS), min_size=1, max_size=10),
       seed=st.integers(min_value=0, max_value=10**6))
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_any_sequence_of_pushes_replays_cuts_and_restarts_keeps_each_record_once(
        server, tmp_path_factory, steps, seed):
    url, app = server
    folder = tmp_path_factory.mktemp("prop")
    upstream = int(url.rsplit(":", 1)[1])
    proxy = CuttingProxy(upstream, rate=0.5, seed=seed)
    device = f"prop-{seed}-{len(steps)}-{folder.name}"[:60]
    outbox = folder / "t.sqlite3"

    def open_client():
        return Client(outbox, sleep=lambda seconds: None, timeout=5, retries=40, chunk_size=1024)

    client = open_client()
    uuids = []
    try:
        client.login(url, "wang", PASSWORD, device_uid=device)
        client.pull()
        premises = entities(client, "premises")
        for number, step in enumerate(steps):
            if step.startswith("record"):
                photos = []
                if step == "record_with_photo":
                    photo = folder / f"{number}.jpg"
                    photo.write_bytes(jpeg_bytes(seed % 997 + number, size=(64 + number, 48)))
                    photos = [photo]
                uuids.append(client.outbox.add_record(
                    "inspection", inspection_for(client, premises[number % 2]), photos))
            elif step == "push":
                client.outbox.set(server=url)
                client.push()
            elif step == "push_through_cuts":
                client.outbox.set(server=f"http://127.0.0.1:{proxy.port}")
                client.push()
            elif step == "replay":
                client.outbox.db.execute("UPDATE records SET state = 'queued'")
            elif step == "reregister":
                client.login(url, "wang", PASSWORD, device_uid=device)
            else:
                client.close()
                client = open_client()
        client.outbox.set(server=url)
        client.push()
        assert set(client.outbox.status()["records"]) <= {"sent"}
        assert server_counts(app, uuids) == sorted(uuids)
    finally:
        proxy.close()
        client.close()


def test_grid_terminal_command_line_round_trip(server, tmp_path, capsys):
    from sync.cli import main

    url, app = server
    outbox = str(tmp_path / "cli.sqlite3")
    assert main(["--outbox", outbox, "login", "--server", url, "--user", "wang",
                 "--password", PASSWORD, "--device-uid", "cli-0001"]) == 0
    assert main(["--outbox", outbox, "pull"]) == 0
    client = Client(outbox)
    record = inspection_for(client, entities(client, "premises")[0])
    client.close()
    record_file = tmp_path / "inspection.json"
    record_file.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    photo = tmp_path / "site.jpg"
    photo.write_bytes(jpeg_bytes(5))
    assert main(["--outbox", outbox, "record", str(record_file), str(photo)]) == 0
    assert main(["--outbox", outbox, "push"]) == 0
    capsys.readouterr()
    assert main(["--outbox", outbox, "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["records"] == {"sent": 1} and status["photos"] == {"stored": 1}


def test_grid_terminal_says_when_the_server_is_unreachable(tmp_path, capsys):
    from sync.cli import main

    outbox = tmp_path / "off.sqlite3"
    client = Client(outbox)
    client.outbox.set(server="http://127.0.0.1:9", token="gd_x")
    client.outbox.add_record("inspection", {"kind": "patrol"})
    client.close()
    assert main(["--outbox", str(outbox), "--retries", "0", "push"]) == 1
    assert "nothing lost" in capsys.readouterr().err
