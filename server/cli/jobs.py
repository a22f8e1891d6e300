"""`flask jobs work`: run background jobs (premises imports, re-deriving cells)."""

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from server.services import jobs as service

jobs_cli = AppGroup("jobs", help="Background jobs (后台任务).")


@jobs_cli.command("work")
@click.option("--once", is_flag=True, help="Run the queued jobs, then stop.")
@click.option("--poll", "poll_seconds", type=click.FloatRange(0.1, 600), default=2.0,
              help="Seconds between looks at an empty queue.")
def work(once, poll_seconds):
    """Run queued jobs until stopped (SIGTERM/SIGINT: after the job in hand)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        done = service.work(once=once, poll_seconds=poll_seconds, stop=stop,
                            lease_seconds=current_app.config["JOBS_LEASE_SECONDS"])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"{done} job(s) run.", err=True)
