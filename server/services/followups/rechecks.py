"""Rechecks (整改复查): an inspection limited to an order's findings; its outcome moves the order.

An inspection naming an order's rectification_recheck task is a recheck (kind "recheck"). Its
item results are exactly the order's findings, each judged compliant or non_compliant (a
not_applicable finding is refused: the officer says whether the problem is gone). In the same
transaction the order moves by the table: start_recheck when it is not due for its recheck
yet, then pass when every finding is compliant now, else fail. An order no longer open for a
recheck refuses it (409 illegal_move) and nothing is stored, the inspection included.
"""

from sqlalchemy import select

from server.errors import Conflict, Forbidden, ValidationFailed
from server.models import GridCell, Inspection, Premises, RectificationOrder, Task, User
from server.services.followups.orders import IllegalMove, get_order, move_order
from server.services.followups.transitions import shipped_transitions
from server.services.scope import cell_scope_clause

RECHECK_KIND = "recheck"
OUTCOME_MOVES = ("pass", "fail")


def order_rechecked_by(session, task):
    """Return the order whose recheck task this is, or None."""
    if task.kind != "rectification_recheck":
        return None
    return session.scalar(select(RectificationOrder).where(RectificationOrder.task_id == task.id))


def refuse_unassigned(session, actor, task_id):
    """Raise 403 not_assigned when task_id is an order's recheck task the actor sees by scope
    but is not assigned to (field staff see only their own tasks); else return."""
    query = (select(Task.id).join(Premises, Premises.id == Task.premises_id)
             .join(GridCell, GridCell.id == Premises.cell_id)
             .join(RectificationOrder, RectificationOrder.task_id == Task.id)
             .where(Task.id == task_id, Task.kind == "rectification_recheck",
                    cell_scope_clause(actor)))
    if session.scalar(query) is not None:
        raise Forbidden("Only the recheck task's assignees, or supervisors over the cell, may "
                        "recheck this order.", code="not_assigned",
                        details={"task_id": ["you are not assigned to this recheck"]})


def recheck_path(order, role, transitions=None):
    """Return the moves a recheck makes before its outcome ([] or [start_recheck]).

    IllegalMove (409, naming the state) when the order is not open for a recheck; 403
    role_required when the actor's role may not make the moves.
    """
    transitions = transitions or shipped_transitions()
    state = order.state
    first = []
    if not all(transitions.find(state, name) for name in OUTCOME_MOVES):
        start = transitions.find(state, "start_recheck")
        if start is None or not all(transitions.find(start.target, n) for n in OUTCOME_MOVES):
            error = IllegalMove(state, transitions.allowed(state, role))
            error.details.update(order_id=order.id, current={"id": order.id, "state": state})
            raise error
        first, state = [start], start.target
    moves = first + [transitions.find(state, name) for name in OUTCOME_MOVES]
    refused = [move.name for move in moves if role not in move.roles]
    if refused:
        raise Forbidden("A recheck moves the order; your role may not make these moves.",
                        code="role_required", details={"moves": refused})
    return first


def check_kind(kind, order):
    """A recheck of an order is of kind recheck, and only such a recheck is."""
    if order is not None and kind != RECHECK_KIND:
        raise ValidationFailed("An inspection of an order's recheck task is of kind recheck.",
                               code="recheck_kind", details={"kind": [f"must be {RECHECK_KIND}"]})
    if order is None and kind == RECHECK_KIND:
        raise ValidationFailed("A recheck names an open rectification_recheck task of an order.",
                               code="recheck_kind",
                               details={"task_id": ["a recheck needs its order's recheck task"]})


def check_items(order, items):
    """Refuse item results that are not exactly the order's findings, each judged."""
    codes = [finding["item_code"] for finding in order.findings]
    given = [entry["item_code"] for entry in items]
    missing = [code for code in codes if code not in given]
    extra = sorted({code for code in given if code not in codes})
    problems = {code: [f"not a finding of order {order.id}"] for code in extra}
    problems.update({entry["item_code"]: ["a recheck finds each finding compliant or "
                                          "non_compliant"]
                     for entry in items if entry["item_code"] in codes
                     and entry["result"] not in ("compliant", "non_compliant")})
    if missing:
        problems["missing"] = missing
    if extra:
        problems["extra"] = extra
    if problems:
        raise ValidationFailed(f"A recheck covers exactly the findings of order {order.id}: "
                               f"{', '.join(codes)}.", code="items_invalid",
                               details={"items": problems})


def outcome_of(results):
    """Return "pass" when every finding is compliant now, else "fail"."""
    return "pass" if all(result == "compliant" for result, _ in results.values()) else "fail"


def check_conclusion(conclusion, outcome):
    """The inspection's conclusion agrees with its outcome."""
    if (conclusion == "compliant") != (outcome == "pass"):
        wanted = "compliant" if outcome == "pass" else "rectification_required or case_referred"
        raise ValidationFailed("The conclusion contradicts the findings' results.",
                               code="conclusion_mismatch", details={"conclusion": [f"must be {wanted}"]})


def check_revision(session, revision_of, outcome):
    """A correction of a recheck keeps its outcome: the order already moved on it."""
    before = outcome_of({item.item_code: (item.result, item.note) for item in revision_of.items})
    if before != outcome:
        raise Conflict(f"Inspection {revision_of.id} rechecked order "
                       f"{revision_of.recheck_of_order_id} with the outcome {before}; a "
                       "correction cannot change it.", code="recheck_outcome_final",
                       details={"outcome": before})


def apply_outcome(session, actor, inspection, order, results, first_moves):
    """Move the order on the stored recheck inspection: start_recheck if due, then pass/fail."""
    details = {"recheck_inspection_id": inspection.id}
    for move in first_moves:
        move_order(session, actor, order.id, {"move": move.name,
                                              "note": f"复查 / recheck: inspection {inspection.id}"},
                   rules=None, details=details)
    outcome = outcome_of(results)
    failed = [f"{code}: {note}" for code, (result, note) in results.items()
              if result != "compliant"]
    note = inspection.findings.strip() or ("复查合格 / recheck passed" if outcome == "pass"
                                           else "复查不合格 / recheck failed — " + "; ".join(failed))
    photos = list(dict.fromkeys(photo.sha256 for photo in inspection.photos))
    move_order(session, actor, order.id, {"move": outcome, "note": note, "photos": photos},
               rules=None, details=details)


def latest_recheck(session, order_id):
    """Return the latest revision of the order's recheck inspection, or None."""
    return session.scalar(select(Inspection).where(Inspection.recheck_of_order_id == order_id)
                          .order_by(Inspection.id.desc()).limit(1))


def recheck_view(session, actor, order_id):
    """Return an order in scope with its findings side by side (see side_by_side)."""
    return side_by_side(session, get_order(session, actor, order_id))


def side_by_side(session, order):
    """Return the order's findings: before (issuing inspection) and after (recheck), with who
    rechecked when, the outcome, and what was reported rectified."""
    recheck = latest_recheck(session, order.id)
    before = _results(order.inspection)
    after = _results(recheck) if recheck is not None else {}
    findings = [{"item_code": f["item_code"], "text": f.get("text", ""),
                 "legal_basis": f.get("legal_basis", ""), "severity": f.get("severity", ""),
                 "before": before.get(f["item_code"]),
                 "after": after.get(f["item_code"]) if recheck is not None else None}
                for f in order.findings]
    reported = next((m for m in reversed(order.moves) if m.move == "report_rectified"), None)
    outcome = next((m for m in reversed(order.moves) if m.move in OUTCOME_MOVES), None)
    return {"order_id": order.id, "state": order.state, "inspection_id": order.inspection_id,
            "recheck_inspection_id": recheck.id if recheck else None,
            "rechecked_by": {"id": recheck.submitted_by_id,
                             "display_name": _display_name(session, recheck.submitted_by_id)}
            if recheck else None,
            "rechecked_at": recheck.server_time if recheck else None,
            "outcome": outcome.move if outcome else None,
            "report_rectified": {"note": reported.note, "photos": list(reported.photos),
                                 "by_id": reported.by_id, "at": reported.at}
            if reported else None,
            "findings": findings}


def _results(inspection):
    photos = {}
    for photo in inspection.photos:
        photos.setdefault(photo.item_code, []).append(photo.sha256)
    return {item.item_code: {"result": item.result, "note": item.note,
                             "photos": photos.get(item.item_code, [])}
            for item in inspection.items}


def _display_name(session, user_id):
    user = session.get(User, user_id)
    return user.display_name if user else None
