"""Gunicorn settings for the grid inspection backend (卫生监督网格化监管).

Used by deploy/systemd/grid-inspection.service:

    gunicorn --config /opt/grid-inspection/deploy/gunicorn.conf.py "server:create_app()"

Every value can be overridden from the environment (the systemd unit loads
/etc/grid-inspection/env), so operators never edit this file for a host-specific
change. Gunicorn reads this file as Python; names below are gunicorn settings.
"""

import multiprocessing
import os


def _env_int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# --- Where to listen ---------------------------------------------------------------------
# Loopback only: nginx on the same host is the only client. nginx terminates TLS, limits
# body size and buffers slow clients; gunicorn must never face the network directly.
# Several hosts behind one load balancer: bind the private address instead, e.g.
# GUNICORN_BIND=10.0.0.5:8000, and set FORWARDED_ALLOW_IPS to the proxy's address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# --- Worker model -------------------------------------------------------------------------
# gthread = prefork processes, each with a small thread pool. The app is mostly I/O bound
# (database round trips, writing photos), so threads let one process overlap requests, and
# a thread stuck on a slow upload (nginx streams /api/v1/photos/ without buffering) does
# not block the whole process. CPU-heavy work (Shapely, Pillow thumbnails) still scales by
# processes. Workers are stateless: anything that matters lives in the database or the
# photo store, so any worker can serve any request and workers may be recycled at will.
worker_class = "gthread"

# 2 × cores + 1 is gunicorn's usual starting point. Mind the database connections:
# each process has its own SQLAlchemy pool (default 5 + 10 overflow), so
# workers × 15 must stay under PostgreSQL's max_connections (default 100) summed over
# all app hosts; on a big host set GUNICORN_WORKERS explicitly or raise max_connections.
# On the embedded SQLite default, keep this small (2–3): SQLite has one writer at a time.
workers = _env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)

# Threads per worker. 4 keeps per-process pool pressure within SQLAlchemy's default
# pool size (5) so threads rarely wait for a connection.
threads = _env_int("GUNICORN_THREADS", 4)

# Do not import the app in the master before forking: each worker builds its own engine
# and connection pool (database sockets must not be shared across fork), and a HUP
# reload (systemctl reload) then really loads new code in the new workers.
preload_app = False

# --- Timeouts -----------------------------------------------------------------------------
# Terminals upload photos over weak 4G in basements and villages. The per-request
# deadline for slow clients is enforced by nginx (client_body_timeout / proxy_*_timeout,
# see nginx/grid-inspection.conf). Here `timeout` is the worker heartbeat: a worker whose
# main loop is silent this long (e.g. stuck in C code on a pathological image or geometry)
# is killed and replaced. 120 s is generous enough not to kill a busy worker mid-import.
timeout = _env_int("GUNICORN_TIMEOUT", 120)

# On restart/upgrade, in-flight requests get this long to finish before the worker is
# killed. Uploads are resumable and pushes idempotent, so a cut request is retried safely
# by the terminal; 30 s lets almost all of them finish anyway. Keep systemd's
# TimeoutStopSec above this value.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)

# No keep-alive behind nginx: each request comes on a fresh loopback connection, taken by
# whichever worker is free. A kept-alive connection stays with the worker that accepted it,
# and then workers holding more connections than threads queue requests while others idle:
# bench/push.py measured 26 records/s with 19% of the CPU idle that way, 33 records/s and
# 1% idle without (2 cores). Terminals keep their connection to nginx, where the TLS
# handshake is saved. Serving terminals without nginx in front, set 2–5.
keepalive = _env_int("GUNICORN_KEEPALIVE", 0)

# --- Recycling ----------------------------------------------------------------------------
# Restart each worker after about this many requests. Long-lived processes that decode
# images (Pillow) and build geometries (GEOS) fragment memory; recycling bounds RSS.
# The jitter spreads restarts so the workers do not all recycle at the same moment.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)

# Heartbeat files on tmpfs: a worker's heartbeat is an fchmod on a temp file every second;
# on a busy or slow disk that can stall and get healthy workers killed.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# --- Proxy trust --------------------------------------------------------------------------
# Only the local nginx may tell us the original scheme (X-Forwarded-Proto: https), so that
# URLs the app builds (OpenAPI servers, redirects, Location headers) say https.
# Never "*": anyone reaching the port could then claim to be on https.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- Request limits -----------------------------------------------------------------------
# Gunicorn's defaults, written out so they are a decision, not an accident. nginx lets
# request lines up to 8 KiB through (large_client_header_buffers), so 4094 bytes here is
# the effective limit: a longer URL gets 400. Bounding-box, cursor and filter query
# strings fit easily; long lists of ids belong in a POST body. Header limits leave room
# for bearer tokens and forwarded headers. Request bodies are not limited here
# (MAX_CONTENT_LENGTH in the app and client_max_body_size in nginx do that).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# --- Logging --------------------------------------------------------------------------------
# To stdout/stderr, i.e. to journald under systemd: `journalctl -u grid-inspection`.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# %(h)s is always nginx (127.0.0.1), so log the real client from X-Real-IP, and the
# X-Request-ID nginx generates so one request can be followed in both logs.
# %(L)s = request time in seconds (decimal): slow uploads and slow queries show up here.
# No query strings with tokens are logged: tokens travel in the Authorization header.
access_log_format = (
    '%({x-real-ip}i)s - %(u)s %(t)s "%(r)s" %(s)s %(b)s '
    '"%(f)s" "%(a)s" rt=%(L)s rid=%({x-request-id}i)s pid=%(p)s'
)

proc_name = "grid-inspection"

# Newer gunicorn (>= 25.1) opens a control socket for `gunicornc`, by default under
# $HOME, which the hardened unit cannot write (ProtectHome). Under systemd put it in the
# unit's RuntimeDirectory (/run/grid-inspection). Older gunicorn ignores this setting.
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"].split(":")[0], "gunicorn.ctl")
