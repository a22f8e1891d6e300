"""The reference terminal rechecks an order offline: pull the order and its recheck task, queue
the recheck in the outbox with no server, push later, and the order moves; again, nothing."""

import json
from datetime import UTC, datetime

import pytest
import time_machine

from sync.client import Client
from sync.recheck import RecheckInvalid, build_recheck, queue_recheck
from tests.factories import PASSWORD, jpeg_bytes
from tests.integration.followups_scene import build_scene, issue
from tests.live import live_app

MONDAY = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


@pytest.fixture
def server(tmp_path):
    ids = {}

    def prepare(session):
        with time_machine.travel(MONDAY, tick=False):
            scene = build_scene(session)
            ids["passing"] = issue(session, scene).id
            ids["failing"] = issue(session, scene).id

    with live_app(tmp_path, prepare) as (url, app):
        yield url, app, ids


@pytest.fixture
def terminal(server, tmp_path):
    url, _, _ = server
    client = Client(tmp_path / "li.sqlite3", sleep=lambda seconds: None, timeout=10)
    client.login(url, "li", PASSWORD, device_uid="li-recheck")
    client.pull()
    yield client
    client.close()


def pulled(client, kind, entity_id):
    row = client.outbox.db.execute("SELECT data FROM entities WHERE type = ? AND id = ?",
                                   (kind, entity_id)).fetchone()
    return json.loads(row[0]) if row else None


def order_on_server(app, order_id):
    from server.extensions import db
    from server.models import RectificationOrder

    with app.app_context():
        order = db.session.get(RectificationOrder, order_id)
        answer = (order.state, [m.move for m in order.moves])
        db.session.remove()
        return answer


def test_an_offline_recheck_pushed_later_passes_the_order_once(server, terminal, tmp_path):
    _, app, ids = server
    order = pulled(terminal, "order", ids["passing"])
    assert pulled(terminal, "task", order["task_id"])["kind"] == "rectification_recheck"
    photo = tmp_path / "after.jpg"
    photo.write_bytes(jpeg_bytes(71))
    # On site, offline: the outbox holds the recheck and its photo.
    queue_recheck(terminal.outbox, order["id"], compliant=["MI-01", "MI-04"],
                  item_photos={"MI-01": [str(photo)]})
    summary = terminal.push()
    assert (summary["created"], summary["rejected"], summary["conflict"], summary["photos"]) == \
        (1, 0, 0, 1)
    assert order_on_server(app, order["id"]) == ("passed", ["start_recheck", "pass"])
    terminal.pull()
    assert pulled(terminal, "order", order["id"])["state"] == "passed"
    assert pulled(terminal, "task", order["task_id"])["status"] == "done"
    # Pushing again (the outbox re-sent after a lost answer) changes nothing.
    terminal.outbox.db.execute("UPDATE records SET state = 'queued'")
    again = terminal.push()
    assert (again["created"], again["duplicate"]) == (0, 1)
    assert order_on_server(app, order["id"]) == ("passed", ["start_recheck", "pass"])


def test_an_offline_recheck_with_a_finding_still_wrong_fails_the_order(server, terminal):
    _, app, ids = server
    queue_recheck(terminal.outbox, ids["failing"], compliant=["MI-01"],
                  non_compliant={"MI-04": "护士仍无执业证书"})
    assert terminal.push()["created"] == 1
    assert order_on_server(app, ids["failing"]) == ("failed", ["start_recheck", "fail"])
    terminal.pull()
    assert pulled(terminal, "order", ids["failing"])["state"] == "failed"


def test_a_recheck_must_give_each_finding_once(terminal, server):
    _, _, ids = server
    for kwargs in ({"compliant": ["MI-01"]}, {"compliant": ["MI-01", "MI-04", "MI-02"]},
                   {"compliant": ["MI-01", "MI-04"], "non_compliant": {"MI-04": "x"}},
                   {"compliant": ["MI-01"], "non_compliant": {"MI-04": " "}}):
        with pytest.raises(RecheckInvalid):
            build_recheck(terminal.outbox, ids["passing"], **kwargs)
    with pytest.raises(RecheckInvalid, match="pull first"):
        build_recheck(terminal.outbox, 10**6, compliant=["MI-01"])


def test_grid_terminal_recheck_command(server, tmp_path, capsys):
    from sync.cli import main

    url, app, ids = server
    outbox = str(tmp_path / "cli.sqlite3")
    assert main(["--outbox", outbox, "login", "--server", url, "--user", "li",
                 "--password", PASSWORD, "--device-uid", "cli-recheck"]) == 0
    assert main(["--outbox", outbox, "pull"]) == 0
    assert main(["--outbox", outbox, "recheck", str(ids["failing"]), "--compliant", "MI-01"]) == 1
    assert "missing ['MI-04']" in capsys.readouterr().err
    assert main(["--outbox", outbox, "recheck", str(ids["failing"]), "--compliant", "MI-01",
                 "--non-compliant", "MI-04=仍无证"]) == 0
    assert main(["--outbox", outbox, "push"]) == 0
    assert order_on_server(app, ids["failing"]) == ("failed", ["start_recheck", "fail"])
