"""What can open a case, and which complaint an order answers: checked in the actor's scope.

Kept apart from orders.py and cases.py so both can use it (cases.py imports orders.py).
"""

from sqlalchemy import select

from server.errors import ValidationFailed
from server.models import Inspection
from server.services.followups.complaints import get_complaint
from server.services.inspections import get_inspection

# Complaint statuses an order may answer: being verified (the order is issued on that visit)
# or verified.
ANSWERABLE = ("verifying", "verified")


def _not_eligible(kind, source_id, why, **details):
    raise ValidationFailed(f"The {kind} {source_id} cannot open a case: {why}.",
                           code="source_not_eligible",
                           details={"source": [why], "kind": kind, "id": source_id, **details})


def resolve_source(session, actor, kind, source_id):
    """Return the premises of a source that may open a case, or raise (404 out of scope, 422
    when it may not): an escalated order, a verified complaint about a premises, or an
    inspection concluding other than compliant (its latest revision)."""
    from server.services.followups.orders import get_order  # orders.py imports this module

    if kind == "order":
        order = get_order(session, actor, source_id)
        if order.state != "escalated":
            _not_eligible(kind, source_id, "only an escalated order opens a case",
                          state=order.state)
        return order.premises
    if kind == "complaint":
        complaint = get_complaint(session, actor, source_id)
        if complaint.status != "verified":
            _not_eligible(kind, source_id, "only a verified complaint opens a case",
                          state=complaint.status)
        if complaint.premises_id is None:
            _not_eligible(kind, source_id, "the complaint names no premises; route it first")
        return complaint.premises
    inspection = get_inspection(session, actor, source_id)
    if inspection.conclusion == "compliant":
        _not_eligible(kind, source_id, "the inspection found nothing to pursue",
                      state=inspection.conclusion)
    newer = session.scalar(select(Inspection.id).where(Inspection.revision_of_id == inspection.id))
    if newer is not None:
        _not_eligible(kind, source_id, f"it was corrected by inspection {newer}; open the case "
                      "from the latest revision", latest_id=newer)
    return inspection.premises


def answered_complaint(session, actor, complaint_id, premises):
    """Return the id of the complaint an order answers (None for none), checked: in scope,
    about the same premises, being verified or verified."""
    if complaint_id is None:
        return None
    complaint = get_complaint(session, actor, complaint_id)
    if complaint.premises_id != premises.id or complaint.status not in ANSWERABLE:
        raise ValidationFailed("An order answers a complaint about the same premises that is "
                               "being verified or verified.", code="complaint_not_answerable",
                               details={"complaint_id": [complaint_id],
                                        "status": complaint.status})
    return complaint.id
