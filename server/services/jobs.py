"""Background jobs: a queue in the `jobs` table, run by `flask jobs work` (or a thread).

A worker claims the oldest queued job (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED; SQLite:
a conditional UPDATE), holds it by a lease it renews with each progress report, and runs its
handler in one transaction that also marks the job done: the work and "done" commit together,
so a worker that dies leaves nothing half done. A running job whose lease ran out is taken
again, or failed once it has used its attempts. An AppError (bad input) fails the job with its
code, message and details; another exception is retried while attempts remain.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from server.errors import AppError, NotFound, ValidationFailed
from server.models import Job, User
from server.models._types import utcnow
from server.services import audit

log = logging.getLogger(__name__)

LEASE_SECONDS = 300
MAX_ATTEMPTS = 3
HANDLERS = {}


class LeaseLost(Exception):
    """Another worker took the job (this one's lease ran out): stop without committing."""


def handler(kind):
    """Register fn(session, job, context) -> result dict as the runner of a job kind."""
    def register(fn):
        HANDLERS[kind] = fn
        return fn
    return register


def worker_name():
    """Name this worker by host and process (and thread, for in-process workers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:128]


def enqueue(session, actor, kind, params=None, *, payload=None, max_attempts=MAX_ATTEMPTS):
    """Queue a job; return it."""
    if kind not in HANDLERS:
        raise ValidationFailed(f"Unknown job kind {kind!r}.", code="unknown_job_kind")
    job = Job(kind=kind, params=params or {}, payload=payload, state="queued", progress_done=0,
              attempts=0, max_attempts=max_attempts,
              created_by_id=actor.id if actor is not None else None, created_at=utcnow())
    session.add(job)
    session.flush()
    audit.record(session, actor, "job.enqueue", "job", job.id,
                 after={"kind": kind, "params": job.params,
                        "payload_bytes": len(payload) if payload is not None else None})
    return job


def jobs_query(actor):
    """Select the jobs the actor may see: their own; admins: all."""
    query = select(Job).order_by(Job.id)
    return query if actor.is_admin else query.where(Job.created_by_id == actor.id)


def get_job(session, actor, job_id):
    """Return a job the actor may see, or raise NotFound."""
    job = session.scalar(jobs_query(actor).where(Job.id == job_id))
    if job is None:
        raise NotFound(f"Job {job_id} not found.")
    return job


def claim(session, worker, *, lease_seconds=LEASE_SECONDS):
    """Take the oldest runnable job for worker: queued, or running with its lease run out.

    Returns the job (state running, attempts counted) or None. Two workers never get the same
    job: PostgreSQL skips rows another claim has locked; on both databases the UPDATE is
    conditional on the state (and lease) read.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(20):
        now = utcnow()
        query = (select(Job.id, Job.state, Job.attempts, Job.max_attempts, Job.lease_until)
                 .where(or_(Job.state == "queued",
                            (Job.state == "running") & (Job.lease_until < now)))
                 .order_by(Job.id).limit(1))
        if postgres:
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).first()
        if row is None:
            return None
        taken = [Job.id == row.id, Job.state == row.state]
        if row.state == "running":
            taken.append(Job.lease_until == row.lease_until)
        if row.state == "running" and row.attempts >= row.max_attempts:
            error = {"code": "worker_lost", "message": "The worker running this job stopped "
                     f"answering {row.attempts} time(s); the job is not tried again."}
            if _set(session, taken, state="failed", error=error, finished_at=now,
                    payload=None, worker=None):
                audit.record(session, None, "job.fail", "job", row.id, details=error)
            continue
        if _set(session, taken, state="running", worker=worker, attempts=row.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds), started_at=now,
                heartbeat_at=now):
            if row.state == "running":
                audit.record(session, None, "job.retake", "job", row.id,
                             details={"attempt": row.attempts + 1, "worker": worker})
            job = session.get(Job, row.id)
            session.refresh(job)
            return job
    return None


def _set(session, where, **values):
    return session.execute(update(Job).where(*where).values(**values)
                           .execution_options(synchronize_session=False)).rowcount == 1


class JobContext:
    """What a handler gets to report progress; each report renews the lease."""

    def __init__(self, session, job_id, worker, lease_seconds):
        self.session, self.job_id, self.worker = session, job_id, worker
        self.lease_seconds = lease_seconds
        self._last = 0.0

    def progress(self, done, total=None, phase=None):
        """Record progress (at most once a second, and the last) and renew the lease."""
        now = time.monotonic()
        if now - self._last < 1.0 and done != total:
            return
        self._last = now
        self.heartbeat(progress_done=done, progress_total=total)

    def heartbeat(self, **values):
        """Renew the lease in a transaction of its own; raise LeaseLost if the job is gone."""
        at = utcnow()
        statement = (update(Job).where(Job.id == self.job_id, Job.worker == self.worker,
                                       Job.state == "running")
                     .values(heartbeat_at=at, lease_until=at + timedelta(
                         seconds=self.lease_seconds), **values)
                     .execution_options(synchronize_session=False))
        bind = self.session.get_bind()
        if isinstance(bind, Connection) or bind.dialect.name == "sqlite":
            # SQLite has one writer: the job's own transaction writes it (readers see it at
            # the end). Tests: one connection for everything.
            count = self.session.execute(statement).rowcount
        else:
            with bind.engine.begin() as connection:  # seen by status readers at once
                count = connection.execute(statement).rowcount
        if count != 1:
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.worker}")


def run_one(worker=None, *, lease_seconds=LEASE_SECONDS):
    """Claim and run one job with the app's session; return the job's id, or None if idle."""
    from server.db import transaction
    from server.extensions import db

    worker = worker or worker_name()
    with transaction() as session:
        job = claim(session, worker, lease_seconds=lease_seconds)
        if job is None:
            return None
        job_id, kind = job.id, job.kind
    try:
        with transaction() as session:
            job = session.get(Job, job_id)
            context = JobContext(session, job_id, worker, lease_seconds)
            context.heartbeat()
            result = HANDLERS[kind](session, job, context)
            context.heartbeat()
            if not _set(session, [Job.id == job_id, Job.worker == worker,
                                  Job.state == "running"],
                        state="done", result=result, error=None, payload=None,
                        finished_at=utcnow()):
                raise LeaseLost(f"job {job_id} is no longer held by {worker}")
            audit.record(session, None, "job.done", "job", job_id, details={"kind": kind})
    except LeaseLost as lost:
        log.warning("%s", lost)
    except AppError as error:
        _fail(job_id, worker, {"code": error.code, "message": error.message,
                               "details": error.details}, retry=False)
    except Exception as error:  # noqa: BLE001 - a job's crash must not stop the worker
        log.exception("job %s (%s) failed", job_id, kind)
        _fail(job_id, worker, {"code": "job_crashed",
                               "message": f"{type(error).__name__}: {error}"}, retry=True)
    db.session.remove()
    return job_id


def _fail(job_id, worker, error, *, retry):
    """Fail the job (or queue it again while attempts remain, when retry)."""
    from server.db import transaction

    with transaction() as session:
        job = session.get(Job, job_id)
        held = [Job.id == job_id, Job.worker == worker, Job.state == "running"]
        if retry and job.attempts < job.max_attempts:
            if _set(session, held, state="queued", worker=None, lease_until=None, error=error):
                audit.record(session, None, "job.requeue", "job", job_id, details=error)
            return
        if _set(session, held, state="failed", error=error, payload=None, worker=None,
                finished_at=utcnow()):
            audit.record(session, None, "job.fail", "job", job_id, details=error)


def work(*, once=False, poll_seconds=2.0, lease_seconds=LEASE_SECONDS, stop=None):
    """Run jobs until stop is set (or, with once, until the queue is empty)."""
    stop = stop or threading.Event()
    worker = worker_name()
    done = 0
    while not stop.is_set():
        try:
            job_id = run_one(worker, lease_seconds=lease_seconds)
        except Exception:  # noqa: BLE001 - e.g. SQLite busy, the database restarting
            log.exception("claiming a job")
            from server.extensions import db

            db.session.remove()
            job_id = None
        if job_id is not None:
            done += 1
            continue
        if once:
            break
        stop.wait(poll_seconds)
    return done


def start_in_process(app, *, poll_seconds=2.0):
    """Run a worker in a daemon thread of this process (the `make run` dev set-up)."""
    stop = threading.Event()

    def loop():
        with app.app_context():
            while not stop.is_set():
                try:
                    work(poll_seconds=poll_seconds, stop=stop)
                except Exception:  # noqa: BLE001 - e.g. the database not migrated yet
                    log.exception("in-process job worker")
                    stop.wait(10)

    thread = threading.Thread(target=loop, name="jobs-worker", daemon=True)
    thread.start()
    return stop


# Handlers.


@handler("premises_import")
def _premises_import(session, job, context):
    """Import the job's CSV as its creator (supervisors: only in their scope)."""
    from server.services.premises import import_premises_csv

    actor = session.get(User, job.created_by_id) if job.created_by_id is not None else None
    if actor is not None and not actor.active:
        raise AppError("The user who started this import is no longer active.",
                       code="creator_inactive", status=403)
    return import_premises_csv(session, actor, job.payload,
                               coordinates=job.params.get("coordinates", "wgs84"),
                               partial=bool(job.params.get("partial")),
                               progress=context.progress)


@handler("rederive_cells")
def _rederive_cells(session, job, context):
    """Re-derive every premises' cell from the active maps (safe to run again)."""
    from server.services.followups.complaints import rederive_complaint_cells
    from server.services.premises import rederive_cells

    actor = session.get(User, job.created_by_id) if job.created_by_id is not None else None
    moved, orphans = rederive_cells(session, actor,
                                    after_batch=lambda done, total: context.progress(done, total))
    complaints = rederive_complaint_cells(session, actor)
    return {"premises_moved": moved, "premises_orphaned": orphans, "complaints_moved": complaints}
