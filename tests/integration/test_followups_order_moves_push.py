"""Order moves made offline on a terminal: pushed once, replayed as duplicates, stale ones conflict."""

import json
import uuid
from datetime import UTC, datetime

import time_machine

from server.models import OrderMove, RectificationOrder
from sync.client import Client
from tests.factories import PASSWORD
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    build_scene,
    headers,
    issue,
    scene,
)
from tests.integration.test_sync_push import device_headers
from tests.live import live_app

MONDAY = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


def move_record(order_id, move, **fields):
    return {"type": "order_move", "client_uuid": str(uuid.uuid4()),
            "data": {"order_id": order_id, "move": move, **fields}}


def push(client, terminal, *records):
    response = client.post("/api/v1/sync/push", json={"records": list(records)},
                           headers=terminal)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def moves_of(db_session, order_id):
    db_session.expire_all()
    return [(m.move, m.from_state, m.to_state)
            for m in db_session.query(OrderMove).filter_by(order_id=order_id).order_by(OrderMove.id)]


def test_a_move_pushed_twice_moves_the_order_once(client, db_session, scene):
    with time_machine.travel(MONDAY, tick=False):
        order = issue(db_session, scene)
        terminal = device_headers(client, username="li", device_uid="li-term")
        record = move_record(order.id, "start_recheck")
        [first] = push(client, terminal, record)
        [again] = push(client, terminal, record)
    assert (first["status"], again["status"]) == ("created", "duplicate"), first
    assert first["server_id"] == again["server_id"] == order.id
    assert moves_of(db_session, order.id) == [("start_recheck", "issued", "recheck_due")]
    assert db_session.get(RectificationOrder, order.id).state == "recheck_due"


def test_a_move_no_longer_possible_is_a_conflict_carrying_the_order(client, db_session, scene):
    with time_machine.travel(MONDAY, tick=False):
        order = issue(db_session, scene)
        terminal = device_headers(client, username="li", device_uid="li-term")
        [result] = push(client, terminal, move_record(order.id, "pass", note="合格"))
    assert (result["status"], result["code"]) == ("conflict", "illegal_move"), result
    assert result["current"]["state"] == "issued"
    assert result["current"]["allowed"] == ["report_rectified", "start_recheck"]
    assert moves_of(db_session, order.id) == []


def test_a_bad_move_is_rejected_alone_and_the_rest_of_the_batch_applies(client, db_session,
                                                                          scene):
    with time_machine.travel(MONDAY, tick=False):
        order = issue(db_session, scene)
        terminal = device_headers(client, username="li", device_uid="li-term")
        results = push(client, terminal,
                       move_record(True, "start_recheck"),
                       move_record(order.id, "fly"),
                       move_record(order.id, "report_rectified", note="已补办", reason="x"),
                       move_record(order.id, "report_rectified", note="已补办许可证"))
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "validation_failed"), ("rejected", "validation_failed"),
        ("rejected", "validation_failed"), ("created", None)]
    assert results[0]["reasons"] == {"order_id": ["an order id is required"]}
    assert moves_of(db_session, order.id) == [("report_rectified", "issued", "reported_rectified")]


def test_a_coordinator_may_report_rectified_but_not_pass_a_recheck(client, db_session, scene):
    with time_machine.travel(MONDAY, tick=False):
        order = issue(db_session, scene)
        terminal = device_headers(client, username="wang", device_uid="wang-term")
        reported, passed = push(client, terminal,
                                move_record(order.id, "report_rectified", note="店主称已整改"),
                                move_record(order.id, "start_recheck"))
    assert reported["status"] == "created"
    assert (passed["status"], passed["code"]) == ("rejected", "role_required")
    assert moves_of(db_session, order.id) == [("report_rectified", "issued", "reported_rectified")]


def test_the_reference_terminal_pulls_an_order_rechecks_it_offline_and_the_order_moves(tmp_path):
    """Pull the order, record the moves in the outbox with no server, push later: it moves."""
    ids = {}

    def prepare(session):
        with time_machine.travel(MONDAY, tick=False):
            scene = build_scene(session)
            ids["order"] = issue(session, scene).id

    with live_app(tmp_path, prepare) as (url, app):
        terminal = Client(tmp_path / "li.sqlite3", sleep=lambda seconds: None, timeout=10)
        try:
            terminal.login(url, "li", PASSWORD, device_uid="li-live")
            terminal.pull()
            [(data,)] = terminal.outbox.db.execute(
                "SELECT data FROM entities WHERE type = 'order'").fetchall()
            pulled = json.loads(data)
            assert (pulled["id"], pulled["state"]) == (ids["order"], "issued")
            # On site, offline: both moves wait in the outbox, in order.
            terminal.outbox.add_record("order_move", {"order_id": pulled["id"],
                                                      "move": "start_recheck"})
            terminal.outbox.add_record("order_move", {"order_id": pulled["id"], "move": "pass",
                                                      "note": "复查：许可证已补办，护士已持证"})
            summary = terminal.push()
            assert (summary["created"], summary["rejected"], summary["conflict"]) == (2, 0, 0)
            terminal.pull()
            [(data,)] = terminal.outbox.db.execute(
                "SELECT data FROM entities WHERE type = 'order'").fetchall()
            assert json.loads(data)["state"] == "passed"
        finally:
            terminal.close()
        from server.extensions import db

        with app.app_context():
            order = db.session.get(RectificationOrder, ids["order"])
            assert order.state == "passed"
            assert [m.move for m in order.moves] == ["start_recheck", "pass"]
            db.session.remove()
