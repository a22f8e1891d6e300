"""Append to the audit hash chain, and verify it (执法全过程记录).

Events are recorded in the caller's transaction but linked into the chain only when it
commits (see commit_order): the chain head is locked for the moment of the commit, not for
the whole request, so concurrent requests do not queue behind one another.
"""

import hashlib
import json
from datetime import UTC, date, datetime

from sqlalchemy import select

from server.models import AuditChainHead, AuditEvent
from server.models._types import utcnow
from server.db import commit_order

GENESIS = "0" * 64


def digest(state):
    """Return the SHA-256 of a JSON-able state, canonically encoded; None for None."""
    if state is None:
        return None
    return hashlib.sha256(canonical_json(state).encode()).hexdigest()


def canonical_json(value):
    """Encode a value as JSON with sorted keys and no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default)


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def event_hash(event):
    """Return the hash that links an event to the one before it."""
    at = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    fields = [event.prev_hash, str(event.id), at, str(event.actor_id or ""),
              event.device_id or "", event.action, event.entity_type, event.entity_id,
              event.before_digest or "", event.after_digest or "",
              canonical_json(event.details or {})]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def record(session, actor, action, entity_type, entity_id, *, before=None, after=None,
           device_id=None, details=None):
    """Record an event for a state change, in the caller's transaction.

    The event gets its place in the chain (id, prev_hash, hash) when the transaction commits.
    """
    event = AuditEvent(
        at=utcnow(), actor_id=actor.id if actor is not None else None, device_id=device_id,
        action=action, entity_type=entity_type, entity_id=str(entity_id),
        before_digest=digest(before), after_digest=digest(after), details=details or {},
    )
    commit_order.defer(session, "audit", event)
    return event


def link_events(session, events):
    """Give each event its place after the chain's last one; the head stays locked to commit."""
    head = AuditChainHead.__table__
    last_id, last_hash = session.execute(
        select(head.c.last_event_id, head.c.last_hash).where(head.c.id == 1).with_for_update()).one()
    for event in events:
        last_id += 1
        event.id, event.prev_hash = last_id, last_hash
        event.hash = last_hash = event_hash(event)
    move_head = head.update().where(head.c.id == 1).values(last_event_id=last_id,
                                                           last_hash=last_hash)
    rows = [_row(event) for event in events]
    if session.get_bind().dialect.name == "postgresql" and len(rows) <= 100:
        # One round trip while the head is locked: the head moves in the INSERT's WITH.
        # (Many rows, e.g. an import, go as an executemany: one huge VALUES costs more.)
        session.execute(AuditEvent.__table__.insert().values(rows)
                        .add_cte(move_head.cte("moved_head")))
    else:
        session.execute(move_head)
        session.execute(AuditEvent.__table__.insert(), rows)


def _row(event):
    return {column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns}


def verify_chain(session, batch=1000):
    """Walk the chain in order; return (checked, first_broken) where first_broken is None or
    {"id", "reason"}."""
    expected_prev = GENESIS
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        events = session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                 .order_by(AuditEvent.id).limit(batch)).all()
        if not events:
            break
        for event in events:
            if event.id != expected_id:
                return checked, {"id": expected_id, "reason": "event missing (deleted?)"}
            if event.prev_hash != expected_prev:
                return checked, {"id": event.id, "reason": "does not link to the event before it"}
            if event_hash(event) != event.hash:
                return checked, {"id": event.id, "reason": "content changed after it was written"}
            expected_prev = event.hash
            expected_id += 1
            checked += 1
            last_id = event.id
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.last_event_id != last_id or head.last_hash != expected_prev):
        return checked, {"id": head.last_event_id, "reason": "events after this one are missing"}
    return checked, None
