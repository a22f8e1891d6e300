"""Background jobs: a premises import through the API as a job, leases, failures, races."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from server.models import AuditEvent, Job, Premises
from server.services import jobs
from tests.conftest import TEST_DATA
from tests.factories import assign, auth_headers, make_grid, make_user, make_wuhai_map

GOOD = (TEST_DATA / "premises" / "wuhai-good-utf8.csv").read_bytes()
HEADER = "名称,类别,性质,许可证号,地址,经度,纬度\n"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def wuhai(db_session):
    return make_wuhai_map(db_session)


def upload_async(client, headers, body, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(f"/api/v1/premises/import?{query}", data=body,
                       headers={**headers, "Content-Type": "text/csv",
                                "Prefer": "respond-async"})


def run_queue(app):
    with app.app_context():
        return jobs.work(once=True)


@time_machine.travel(T0, tick=False)
def test_an_import_through_the_api_runs_as_a_job_with_a_status_url(app, client, db_session,
                                                                     wuhai):
    supervisor = make_user(db_session, "supervisor")
    admin = make_user(db_session, "admin")
    for district in ("156150302", "156150303", "156150304"):
        assign(db_session, admin, supervisor, wuhai.cells.filter_by(code=district).one())
    headers = auth_headers(db_session, supervisor)
    response = upload_async(client, headers, GOOD)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == body["status_url"] == f"/api/v1/jobs/{body['id']}"
    assert (body["kind"], body["state"], body["state_label"]) == (
        "premises_import", "queued", {"zh": "排队中", "en": "Queued"})
    assert db_session.query(Premises).count() == 0  # nothing until a worker runs it
    assert run_queue(app) == 1
    status = client.get(body["status_url"], headers=headers).get_json()
    assert status["state"] == "done" and status["error"] is None
    assert (status["result"]["created"], status["result"]["errors"]) == (5, [])
    assert status["progress"] == {"done": 10, "total": 10}  # each row checked, then written
    assert db_session.query(Premises).count() == 5
    assert db_session.get(Job, body["id"]).payload is None  # the file is not kept
    # Its creator and admins see it; anyone else is told it does not exist.
    assert client.get(body["status_url"], headers=auth_headers(db_session, admin)).status_code \
        == 200
    other = make_user(db_session, "supervisor")
    missing = client.get(body["status_url"], headers=auth_headers(db_session, other))
    assert missing.status_code == 404 and "result" not in missing.get_json()


def test_a_small_file_is_still_imported_at_once_and_a_large_one_becomes_a_job(
        app, client, db_session, wuhai):
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    at_once = client.post("/api/v1/premises/import", data=GOOD,
                          headers={**headers, "Content-Type": "text/csv"})
    assert at_once.status_code == 200 and at_once.get_json()["unchanged"] == 0
    app.config["JOBS_INLINE_MAX_BYTES"] = len(GOOD) - 1
    try:
        queued = client.post("/api/v1/premises/import", data=GOOD,
                             headers={**headers, "Content-Type": "text/csv"})
    finally:
        app.config["JOBS_INLINE_MAX_BYTES"] = 1024 * 1024
    assert queued.status_code == 202
    run_queue(app)
    result = client.get(queued.headers["Location"], headers=headers).get_json()["result"]
    assert (result["created"], result["unchanged"]) == (0, 5)


def test_a_failed_job_records_its_error_and_stores_nothing(app, client, db_session, wuhai):
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    body = (HEADER + "好诊所,诊所,民营,A-1,乌海,106.82,39.67\n"
            "坏坐标,诊所,民营,A-2,乌海,abc,39.67\n").encode()
    job_url = upload_async(client, headers, body).headers["Location"]
    run_queue(app)
    status = client.get(job_url, headers=headers).get_json()
    assert status["state"] == "failed" and status["result"] is None
    assert status["error"]["code"] == "csv_invalid"
    assert [e["line"] for e in status["error"]["details"]["errors"]] == [3]
    assert db_session.query(Premises).count() == 0
    assert status["attempts"] == 1  # bad input is not tried again
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "job")).all()
    assert actions == ["job.enqueue", "job.fail"]


def test_a_job_whose_worker_died_is_taken_again_then_failed(app, db_session):
    admin = make_user(db_session, "admin")
    job = jobs.enqueue(db_session, admin, "rederive_cells", max_attempts=2)
    with time_machine.travel(T0, tick=False):
        first = jobs.claim(db_session, "w1", lease_seconds=60)
        assert (first.id, first.state, first.worker, first.attempts) == (job.id, "running",
                                                                         "w1", 1)
        assert jobs.claim(db_session, "w2", lease_seconds=60) is None  # held
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        again = jobs.claim(db_session, "w2", lease_seconds=60)  # w1 stopped renewing
        assert (again.id, again.worker, again.attempts) == (job.id, "w2", 2)
        stale = jobs.JobContext(db_session, job.id, "w1", 60)
        with pytest.raises(jobs.LeaseLost):
            stale.progress(1, 2)  # w1 coming back finds it gone and stops
    with time_machine.travel(T0 + timedelta(seconds=200), tick=False):
        assert jobs.claim(db_session, "w3", lease_seconds=60) is None  # attempts used up
    db_session.expire_all()
    lost = db_session.get(Job, job.id)
    assert lost.state == "failed" and lost.error["code"] == "worker_lost"


def test_a_crashing_job_is_retried_then_failed(app, db_session, monkeypatch):
    calls = []

    def boom(session, job, context):
        calls.append(job.id)
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(jobs.HANDLERS, "boom", boom)
    job = jobs.enqueue(db_session, None, "boom", max_attempts=2)
    assert run_queue(app) == 2
    db_session.expire_all()
    failed = db_session.get(Job, job.id)
    assert calls == [job.id, job.id]
    assert (failed.state, failed.attempts, failed.error["code"]) == ("failed", 2, "job_crashed")
    assert "disk on fire" in failed.error["message"]


def test_the_rederive_job_and_the_cli_worker(app, runner, db_session):
    from server.services.premises import create_premises

    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    premises = create_premises(db_session, admin, {
        "name": "诊所", "category_code": "clinic", "ownership": "private",
        "licence_no": "J-1", "address": "甲区", "lon": 106.01, "lat": 39.01})
    right = premises.cell_id
    premises.cell_id = grid.cells["D2001001"].id  # wrong: the job puts it right
    db_session.flush()
    job = jobs.enqueue(db_session, admin, "rederive_cells")
    result = runner.invoke(args=["jobs", "work", "--once"])
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    done = db_session.get(Job, job.id)
    assert done.state == "done" and done.result["premises_moved"] == 1
    assert db_session.get(type(premises), premises.id).cell_id == right


def test_two_workers_claiming_at_once_get_different_jobs_or_none(tmp_path):
    from tests.live import concurrent_sessions

    def prepare(session):
        jobs.enqueue(session, None, "rederive_cells")

    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        first = one.scalar(select(Job.id))
        taken = jobs.claim(one, "w1")  # not committed: its row stays locked
        assert taken.id == first
        assert jobs.claim(other, "w2") is None  # skips the locked row, does not wait
        jobs.enqueue(other, None, "rederive_cells")
        other.commit()
        second = jobs.claim(other, "w2")
        assert second is not None and second.id != first
        one.commit()
        other.commit()
        rows = observer.execute(select(Job.id, Job.worker, Job.attempts).order_by(Job.id)).all()
        assert [tuple(r) for r in rows] == [(first, "w1", 1), (second.id, "w2", 1)]
