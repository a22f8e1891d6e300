"""The rectification order state machine, one table kept as data (server/followups/order_transitions.json).

state → move → (next state, roles allowed). Pure: services ask it, the database enforces
that only one move from a state wins (orders.py).
"""

import json
from dataclasses import dataclass
from functools import lru_cache

from server.models.followups import ORDER_STATES
from server.models.user import ROLES
from server.services.followups import DATA

SHIPPED_TRANSITIONS = DATA / "order_transitions.json"
# The roles that hold cells and get tasks (services/tasks.cell_staff).
FIELD_ROLES = ("officer", "coordinator")


class TransitionsInvalid(ValueError):
    """The transitions file is not a valid state machine."""


@dataclass(frozen=True)
class Move:
    name: str
    source: str
    target: str
    roles: tuple


class Transitions:
    def __init__(self, moves, issue_roles, labels):
        self.moves = {(move.source, move.name): move for move in moves}
        self.issue_roles = tuple(issue_roles)
        self.labels = labels  # move -> {"zh", "en"}

    @property
    def move_names(self):
        return tuple(self.labels)

    def find(self, state, move):
        """Return the Move named `move` from `state`, or None when it is not a move from there."""
        return self.moves.get((state, move))

    def allowed(self, state, role):
        """Return the moves from a state that a role may make, in table order."""
        return [m.name for (source, _), m in self.moves.items()
                if source == state and role in m.roles]

    def recheck_roles(self):
        """Return the roles that may make every recheck outcome (pass and fail) wherever one
        is possible: recheck tasks go to the field staff among them."""
        outcomes = [m for m in self.moves.values() if m.name in ("pass", "fail")]
        roles = [role for role in ROLES if outcomes and all(role in m.roles for m in outcomes)]
        return tuple(roles)

    def open_states(self):
        """Return the states that still have moves (the order is not finished)."""
        return sorted({source for source, _ in self.moves})


def validate_transitions(document):
    """Return the Transitions a table describes, or raise TransitionsInvalid."""
    problems = []
    states = document.get("states", {})
    labels = document.get("moves", {})
    issue_roles = (document.get("issue") or {}).get("roles", [])
    if set(states) != set(ORDER_STATES):
        problems.append(f"states must be exactly {sorted(ORDER_STATES)}")
    if not issue_roles or not set(issue_roles) <= set(ROLES):
        problems.append(f"issue.roles must be some of {list(ROLES)}")
    for name, label in labels.items():
        if not isinstance(label, dict) or not label.get("zh") or not label.get("en"):
            problems.append(f"moves.{name}: zh and en labels are required")
    moves = []
    for source, outgoing in states.items():
        for name, move in (outgoing or {}).items():
            where = f"states.{source}.{name}"
            if name not in labels:
                problems.append(f"{where}: not a move listed under moves")
            if move.get("to") not in ORDER_STATES:
                problems.append(f"{where}: leads to unknown state {move.get('to')!r}")
            roles = move.get("roles") or []
            if not roles or not set(roles) <= set(ROLES):
                problems.append(f"{where}: roles must be some of {list(ROLES)}")
            moves.append(Move(name, source, move.get("to"), tuple(roles)))
    if "issued" not in states:
        problems.append("an order starts in the state issued")
    if problems:
        raise TransitionsInvalid("; ".join(problems))
    table = Transitions(moves, issue_roles, labels)
    if not set(table.recheck_roles()) & set(FIELD_ROLES):
        raise TransitionsInvalid(f"pass and fail must both be open to a field role "
                                 f"({' or '.join(FIELD_ROLES)}): recheck tasks go to them")
    return table


@lru_cache(maxsize=1)
def shipped_transitions():
    """Return the transitions table the server enforces."""
    return validate_transitions(json.loads(SHIPPED_TRANSITIONS.read_text(encoding="utf-8")))
