"""Every move of an order from every state by every role, against an explicit expected table.

The expected table is written out here, apart from server/followups/order_transitions.json:
if the file is wrong, test_the_table_is_the_expected_one fails and so do the API walks.
"""

from datetime import date

import pytest
from sqlalchemy import update

from server.models import AuditEvent, OrderMove, RectificationOrder, Task
from server.models.followups import ORDER_STATES
from server.services.followups.orders import MOVE_FIELDS
from server.services.followups.transitions import shipped_transitions
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    headers,
    issue,
    scene,
)

ALL_ROLES = ("admin", "supervisor", "officer", "coordinator")
ENFORCEMENT = ("admin", "supervisor", "officer")
# (state, move) → (next state, roles allowed). Every other (state, move) is illegal.
EXPECTED = {
    ("issued", "report_rectified"): ("reported_rectified", ALL_ROLES),
    ("issued", "start_recheck"): ("recheck_due", ENFORCEMENT),
    ("reported_rectified", "start_recheck"): ("recheck_due", ENFORCEMENT),
    ("recheck_due", "pass"): ("passed", ENFORCEMENT),
    ("recheck_due", "fail"): ("failed", ENFORCEMENT),
    ("failed", "reissue"): ("reissued", ENFORCEMENT),
    ("failed", "escalate"): ("escalated", ("admin", "supervisor")),
}
ACTORS = {"admin": "admin", "supervisor": "chief", "officer": "li", "coordinator": "wang"}
BODIES = {"report_rectified": {"note": "已补办许可证", "photos": ["ab" * 32]},
          "start_recheck": {}, "pass": {"note": "已整改到位"}, "fail": {"note": "仍无许可证"},
          "reissue": {"measures": "限期补办"}, "escalate": {"reason": "拒不整改"}}


def expected_answer(state, move, role):
    """Return (status, code or next state) the API must answer, from EXPECTED alone."""
    if (state, move) not in EXPECTED:
        return 409, "illegal_move"
    target, roles = EXPECTED[(state, move)]
    return (200, target) if role in roles else (403, "role_required")


def test_the_table_is_the_expected_one():
    table = shipped_transitions()
    found = {(m.source, m.name): (m.target, tuple(sorted(m.roles))) for m in table.moves.values()}
    assert found == {key: (target, tuple(sorted(roles)))
                     for key, (target, roles) in EXPECTED.items()}


def order_in(db_session, scene, state):
    order = issue(db_session, scene)
    db_session.execute(update(RectificationOrder).where(RectificationOrder.id == order.id)
                       .values(state=state))
    db_session.flush()
    return order


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_move_from_every_state(client, db_session, scene, headers, role):
    """Both tables are walked: EXPECTED's answers, and the file's own moves (by the loop)."""
    table = shipped_transitions()
    answers, wanted = {}, {}
    for state in ORDER_STATES:
        for move in MOVE_FIELDS:
            order = order_in(db_session, scene, state)
            response = client.post(f"/api/v1/followups/orders/{order.id}/moves",
                                   json={"move": move, **BODIES[move]},
                                   headers=headers[ACTORS[role]])
            answer = response.get_json()
            db_session.expire_all()
            stored = db_session.get(RectificationOrder, order.id).state
            if response.status_code == 200:
                answers[(state, move)] = (200, answer["state"], stored)
            else:
                answers[(state, move)] = (response.status_code, answer["error"]["code"], stored)
                if response.status_code == 409:
                    assert answer["error"]["details"] == {
                        "state": state, "allowed": table.allowed(state, role)}
            status, outcome = expected_answer(state, move, role)
            wanted[(state, move)] = (status, outcome, outcome if status == 200 else state)
    assert answers == wanted


def test_an_illegal_move_names_the_state_and_the_moves_allowed_for_the_role(client, db_session,
                                                                           scene, headers):
    order = issue(db_session, scene)
    response = client.post(f"/api/v1/followups/orders/{order.id}/moves", json={"move": "pass"},
                           headers=headers["wang"])
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "illegal_move", "message": response.get_json()["error"]["message"],
        "details": {"state": "issued", "allowed": ["report_rectified"]}}
    officer = client.post(f"/api/v1/followups/orders/{order.id}/moves", json={"move": "pass"},
                          headers=headers["li"])
    assert officer.get_json()["error"]["details"]["allowed"] == ["report_rectified",
                                                                 "start_recheck"]


def moved(client, headers, order, who, move, **extra):
    return client.post(f"/api/v1/followups/orders/{order.id}/moves", json={"move": move, **extra},
                       headers=headers[who])


def test_a_report_without_a_note_is_refused_and_changes_nothing(client, db_session, scene,
                                                               headers):
    order = issue(db_session, scene)
    for extra in ({}, {"note": "  "}, {"note": "ok", "reason": "not taken here"}):
        response = moved(client, headers, order, "wang", "report_rectified", **extra)
        assert response.status_code == 422, (extra, response.get_json())
        assert response.get_json()["error"]["code"] == "validation_failed"
    db_session.expire_all()
    assert db_session.get(RectificationOrder, order.id).state == "issued"
    assert db_session.query(OrderMove).count() == 0


def test_the_whole_way_to_a_reissue_keeps_every_move_and_links_the_new_order(client, db_session,
                                                                           scene, headers):
    order = issue(db_session, scene)
    assert moved(client, headers, order, "wang", "report_rectified", note="已整改",
                 photos=["ab" * 32]).status_code == 200
    assert moved(client, headers, order, "li", "start_recheck").status_code == 200
    failed = moved(client, headers, order, "li", "fail", note="仍未整改")
    assert failed.status_code == 200 and failed.get_json()["state"] == "failed"
    db_session.expire_all()
    assert db_session.get(Task, order.task_id).status == "done"  # the recheck happened
    reissued = moved(client, headers, order, "chief", "reissue", deadline="2026-04-01")
    assert reissued.status_code == 200, reissued.get_json()
    answer = reissued.get_json()
    assert answer["state"] == "reissued"
    assert [m["move"] for m in answer["moves"]] == ["report_rectified", "start_recheck", "fail",
                                                    "reissue"]
    assert answer["moves"][0]["photos"] == ["ab" * 32]
    successor = db_session.get(RectificationOrder, answer["reissued_as_id"])
    assert (successor.state, successor.reissue_of_id, successor.deadline,
            successor.deadline_source) == ("issued", order.id, date(2026, 4, 1), "explicit")
    assert [f["item_code"] for f in successor.findings] == ["MI-01", "MI-04"]
    new_task = db_session.get(Task, successor.task_id)
    assert (new_task.kind, new_task.due_date, new_task.status) == \
        ("rectification_recheck", date(2026, 4, 1), "open")
    actions = [e.action for e in db_session.query(AuditEvent).filter_by(
        entity_type="rectification_order").order_by(AuditEvent.at)]
    assert actions.count("order.issue") == 2
    assert {"order.report_rectified", "order.start_recheck", "order.fail",
            "order.reissue"} <= set(actions)


def test_a_reissue_with_a_deadline_beyond_a_year_changes_nothing(client, db_session, scene,
                                                                headers):
    order = order_in(db_session, scene, "failed")
    response = moved(client, headers, order, "li", "reissue", deadline="2030-01-01")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "deadline_out_of_range"
    db_session.expire_all()
    assert db_session.get(RectificationOrder, order.id).state == "failed"
    assert db_session.query(RectificationOrder).count() == 1


def test_an_escalation_keeps_its_reason(client, db_session, scene, headers):
    order = order_in(db_session, scene, "failed")
    response = moved(client, headers, order, "chief", "escalate", reason="两次复查不合格")
    assert response.status_code == 200
    assert response.get_json()["state_label"] == {"zh": "已移交立案", "en": "Escalated"}
    assert response.get_json()["moves"][-1]["details"] == {"reason": "两次复查不合格"}
