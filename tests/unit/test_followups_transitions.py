"""The order transitions table: what the shipped file says, and what the validator refuses."""

import copy
import json

import pytest

from server.models.followups import ORDER_STATES
from server.services.followups.orders import MOVE_FIELDS
from server.services.followups.transitions import (
    SHIPPED_TRANSITIONS,
    TransitionsInvalid,
    shipped_transitions,
    validate_transitions,
)


def test_the_shipped_table_walks_issued_to_the_final_states():
    table = shipped_transitions()
    assert table.find("issued", "report_rectified").target == "reported_rectified"
    assert table.find("reported_rectified", "start_recheck").target == "recheck_due"
    assert {table.find("recheck_due", m).target for m in ("pass", "fail")} == {"passed", "failed"}
    assert {table.find("failed", m).target for m in ("reissue", "escalate")} == \
        {"reissued", "escalated"}
    assert table.open_states() == sorted(["issued", "reported_rectified", "recheck_due", "failed"])


def test_every_move_of_the_table_has_its_fields_and_labels():
    table = shipped_transitions()
    assert set(table.move_names) == set(MOVE_FIELDS)
    assert all(label["zh"] and label["en"] for label in table.labels.values())


def test_allowed_moves_depend_on_the_role():
    table = shipped_transitions()
    assert table.allowed("issued", "coordinator") == ["report_rectified"]
    assert table.allowed("failed", "officer") == ["reissue"]
    assert table.allowed("failed", "supervisor") == ["reissue", "escalate"]
    assert table.allowed("passed", "admin") == []


def document():
    return copy.deepcopy(json.loads(SHIPPED_TRANSITIONS.read_text(encoding="utf-8")))


@pytest.mark.parametrize("change, problem", [
    (lambda d: d["states"]["issued"]["report_rectified"].update(to="done"), "unknown state"),
    (lambda d: d["states"]["failed"]["escalate"].update(roles=["mayor"]), "roles"),
    (lambda d: d["states"].pop("escalated"), "states must be exactly"),
    (lambda d: d["states"]["passed"].update(reopen={"to": "issued", "roles": ["admin"]}),
     "not a move listed"),
    (lambda d: d["issue"].update(roles=[]), "issue.roles"),
])
def test_the_validator_refuses_a_broken_table(change, problem):
    broken = document()
    change(broken)
    with pytest.raises(TransitionsInvalid, match=problem):
        validate_transitions(broken)


def test_the_states_of_the_table_are_the_models():
    assert set(document()["states"]) == set(ORDER_STATES)


def test_recheck_tasks_go_to_the_field_roles_that_may_pass_and_fail():
    assert shipped_transitions().recheck_roles() == ("admin", "supervisor", "officer")


def test_the_validator_refuses_a_table_where_no_field_role_may_pass_and_fail():
    broken = document()
    broken["states"]["recheck_due"]["fail"]["roles"] = ["admin", "supervisor"]
    with pytest.raises(TransitionsInvalid, match="field role"):
        validate_transitions(broken)
