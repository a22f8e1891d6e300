"""A second app with its own database, served over real HTTP from a thread, for client tests.

On PostgreSQL (DATABASE_URL set) it gets a fresh database in the same cluster; otherwise a
SQLite + SpatiaLite file. The listening socket exists before the fixture returns, so tests
never wait for the server to come up.
"""

import os
import socket
import threading
import uuid
from contextlib import contextmanager


def _fresh_database(tmp_dir):
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return f"sqlite:///{tmp_dir / 'live.sqlite3'}", None
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"grid_live_{uuid.uuid4().hex[:8]}"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(parsed.set(drivername="postgresql", database=name)
                         .render_as_string(False), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION postgis")
    return parsed.set(database=name).render_as_string(False), (admin, name)


@contextmanager
def live_app(tmp_dir, prepare=None):
    """Yield (base_url, app) of a migrated app; prepare(session) runs once, committed."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db

    url, cleanup = _fresh_database(tmp_dir)
    config = TestConfig(url)
    config.PHOTO_DIR = str(tmp_dir / "photos")
    app = create_app(config)
    with app.app_context():
        upgrade()
        if prepare is not None:
            with transaction():
                prepare(db.session)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine.dispose()
        if cleanup:
            import psycopg

            admin, name = cleanup
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 that cuts connections at random points, reproducibly.

    Every request on a connection (kept-alive connections carry many) draws afresh whether it
    is cut, with probability `rate`, and after how many bytes in which direction: mid-request,
    mid-response or mid-photo. Each connection draws from its own generator, seeded from
    `seed` in the order connections arrive.
    """

    def __init__(self, upstream_port, rate, seed):
        import random

        self.upstream_port = upstream_port
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.cuts = 0
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        import random

        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                link = _Link(random.Random(self.random.getrandbits(64)), self.rate)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, target, direction in ((client, upstream, "up"),
                                              (upstream, client, "down")):
                threading.Thread(target=self._pipe,
                                 args=(source, target, direction, link, client, upstream),
                                 daemon=True).start()

    def _pipe(self, source, target, direction, link, *both):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                allowed = link.allowance(direction, len(data))
                if allowed < len(data):
                    target.sendall(data[:allowed])
                    with self.lock:
                        self.cuts += 1
                    break
                target.sendall(data)
        except OSError:
            pass
        close_sockets(both)

    def close(self):
        self.running = False
        self.listener.close()


class _Link:
    """One proxied connection: each request on it draws anew where (if at all) it is cut."""

    def __init__(self, rng, rate):
        self.rng = rng
        self.rate = rate
        self.lock = threading.Lock()
        self.last_direction = "down"
        self.sent = {"up": 0, "down": 0}
        self.cut_at = None  # (direction, bytes) for the exchange under way, or None

    def allowance(self, direction, size):
        """Return how many of `size` bytes may pass now; fewer means: cut the connection here."""
        with self.lock:
            if direction == "up" and self.last_direction == "down":  # a new request begins
                self.sent = {"up": 0, "down": 0}
                cut = self.rng.random() < self.rate
                budget = self.rng.randint(1, 4000)
                where = self.rng.choice(("up", "down"))
                self.cut_at = (where, budget) if cut else None
            self.last_direction = direction
            before = self.sent[direction]
            self.sent[direction] += size
            if self.cut_at and self.cut_at[0] == direction and self.sent[direction] > self.cut_at[1]:
                return max(0, self.cut_at[1] - before)
            return size


def close_sockets(sockets):
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


class ServerProcess:
    """The app under gunicorn in its own process, on a socket bound here and handed over.

    Clients can connect as soon as the socket exists (the kernel queues them), so nothing
    waits for the process to start; kill() is SIGKILL, start() brings it back on the same port.
    """

    def __init__(self, database_url, var_dir, photo_dir):
        import sys

        # The backlog gunicorn uses by default: many terminals connecting at once wait in it
        # rather than have their connection attempts dropped and retried seconds later.
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
        self.port = self.listener.getsockname()[1]
        self.env = dict(os.environ, DATABASE_URL=database_url, GRID_VAR_DIR=str(var_dir),
                        PHOTO_DIR=str(photo_dir), SECRET_KEY="live-test")
        self.command = [sys.executable, "-m", "gunicorn", "--bind",
                        f"fd://{self.listener.fileno()}", "--workers", "1", "--threads", "4",
                        "--log-level", "warning", "server:create_app()"]
        self.process = None
        self.kills = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        import subprocess

        self.process = subprocess.Popen(self.command, env=self.env, pass_fds=[self.listener.fileno()],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)

    def kill(self):
        import signal

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def close(self):
        self.kill()
        self.listener.close()


def prepared_database(tmp_dir, prepare):
    """Create and migrate a database, run prepare(session) committed; return its URL."""
    from flask_migrate import upgrade

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db

    url, _ = _fresh_database(tmp_dir)
    app = create_app(TestConfig(url))
    with app.app_context():
        upgrade()
        with transaction():
            prepare(db.session)
        db.engine.dispose()
    return url, app


@contextmanager
def concurrent_sessions(tmp_dir, count, prepare=None):
    """Yield count sessions, each on its own connection, to a fresh PostgreSQL database
    (prepare(session) runs first, committed).

    For tests of what concurrent transactions see of each other; skipped on SQLite, which
    lets one transaction write at a time.
    """
    import pytest
    from sqlalchemy import text
    from sqlalchemy.orm import sessionmaker

    from server.db import commit_order
    from server.extensions import db

    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("SQLite lets one transaction write at a time")
    _, app = prepared_database(tmp_dir, prepare or (lambda session: None))
    with app.app_context():
        engine = db.engine
        factory = sessionmaker(bind=engine)
        commit_order.install(factory)  # as create_app does for the app's own sessions
        sessions = [factory() for _ in range(count)]
        for session in sessions:
            session.execute(text("SET lock_timeout = '3s'"))  # a wait is a failure, not a hang
        try:
            yield sessions
        finally:
            for session in sessions:
                session.close()
            engine.dispose()


def read_answer(sock):
    """Read one HTTP answer off a raw socket by its Content-Length: (status, body bytes).

    Not until the server closes: a server that answers early may still be draining the
    rest of a request body, which ends only when the client half-closes.
    """
    reply = b""
    while b"\r\n\r\n" not in reply:
        data = sock.recv(65536)
        assert data, f"connection closed before the answer's head: {reply!r}"
        reply += data
    head, _, payload = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = int(dict(line.lower().split(":", 1) for line in lines[1:])["content-length"])
    while len(payload) < length:
        data = sock.recv(65536)
        assert data, "connection closed in the middle of the answer's body"
        payload += data
    return int(lines[0].split()[1]), payload[:length]
