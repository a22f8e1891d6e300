"""nginx in front of the app, as deploy/nginx/grid-inspection.conf puts it (without TLS).

Terminals keep their connection to nginx alive; nginx opens a fresh loopback connection to
gunicorn (keepalive 0) for each request, which whichever worker is free accepts. A
kept-alive connection straight to gunicorn stays with the worker that accepted it, and
workers holding more connections than threads queue requests while others idle.
"""

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

CONFIG = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream grid_inspection_app {{
        server 127.0.0.1:{upstream} max_fails=0;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=2048;
        client_max_body_size 50m;
        client_body_buffer_size 1m;
        keepalive_timeout 65s;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_read_timeout 300s;
        proxy_next_upstream off;
        location / {{
            proxy_pass http://grid_inspection_app;
        }}
        location /api/v1/photos/ {{
            proxy_request_buffering off;
            proxy_pass http://grid_inspection_app;
        }}
    }}
}}
"""


def nginx_available():
    return shutil.which("nginx") is not None


@contextmanager
def nginx_front(upstream_port, work_dir):
    """Run nginx on a free 127.0.0.1 port in front of upstream_port; yield its base URL."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = work_dir / "nginx.conf"
    config.write_text(CONFIG.format(dir=work_dir, upstream=upstream_port, port=port))
    process = subprocess.Popen([shutil.which("nginx"), "-c", str(config), "-p", str(work_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):  # nginx is up within a moment; fail loudly if it is not
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"nginx failed: {process.stderr.read().decode()}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)
