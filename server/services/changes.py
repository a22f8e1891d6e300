"""Append to the change feed that delta pulls read.

Events are numbered when their transaction commits (see commit_order), so a pull that has
read up to N can never later find a newly committed event below N.
"""

from types import SimpleNamespace

from sqlalchemy import select

from server.models import ChangeEvent, ChangeFeedHead
from server.models._types import utcnow
from server.db import commit_order


# Kinds that belong to no cell: their events reach every terminal. An event of another kind
# with no cell (an orphan premises and its tasks) touches no one's cells: admins alone see it.
BROADCAST_KINDS = ("checklist",)


def emit(session, entity_type, entity_id, op="upsert", *, cell_id=None, old_cell_id=None,
         user_id=None):
    """Record a change; cell ids say whose scope it touches (old_cell_id: where it was)."""
    commit_order.defer(session, "feed", ChangeEvent(
        entity_type=entity_type, entity_id=str(entity_id), op=op, cell_id=cell_id,
        old_cell_id=old_cell_id if old_cell_id != cell_id else None, user_id=user_id,
        at=utcnow()))


def emit_many(session, changes, entity_type="premises", op="upsert"):
    """Record many changes of one kind at once: changes are (entity_id, cell_id, old_cell_id).

    The same events as emit's, held as plain rows (bulk work: re-deriving cells)."""
    at = utcnow()
    for entity_id, cell_id, old_cell_id in changes:
        commit_order.defer(session, "feed", SimpleNamespace(
            entity_type=entity_type, entity_id=str(entity_id), op=op, cell_id=cell_id,
            old_cell_id=old_cell_id if old_cell_id != cell_id else None, user_id=None, at=at))


# From this many events on, PostgreSQL gets them by COPY (an INSERT's parameters cost more).
COPY_FROM = 500


def number_events(session, events):
    """Number the events after the feed's last one; the head stays locked until commit."""
    head = ChangeFeedHead.__table__
    # One statement takes the lock and the numbers.
    last = session.execute(head.update().where(head.c.id == 1)
                           .values(last_seq=head.c.last_seq + len(events))
                           .returning(head.c.last_seq)).scalar_one()
    columns = [column.key for column in ChangeEvent.__table__.columns]
    for seq, event in enumerate(events, start=last - len(events) + 1):
        event.seq = seq
    if len(events) >= COPY_FROM and session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY change_events ({', '.join(columns)}) FROM STDIN") as copy:
            for event in events:
                copy.write_row(tuple(getattr(event, key) for key in columns))
        return
    session.execute(ChangeEvent.__table__.insert(),
                    [{key: getattr(event, key) for key in columns} for event in events])


def feed_head(session):
    """Return the number of the last committed event: every event up to it is readable."""
    return session.scalar(select(ChangeFeedHead.last_seq).where(ChangeFeedHead.id == 1)) or 0


def prune_feed(session, actor, *, older_than):
    """Delete the feed's events from before older_than; return the FeedPrune recorded.

    Terminals whose cursor is older than what was deleted are told to resync (410), never
    served a feed with a hole in it. The head row keeps the numbering going.
    """
    from sqlalchemy import delete, func

    from server.models import FeedPrune
    from server.services import audit

    through = session.scalar(select(func.max(ChangeEvent.seq)).where(ChangeEvent.at < older_than))
    deleted = 0
    if through is not None:
        deleted = session.execute(delete(ChangeEvent).where(ChangeEvent.seq <= through)).rowcount
    prune = FeedPrune(pruned_through_seq=through or 0, events_deleted=deleted,
                      older_than=older_than, by_id=actor.id if actor is not None else None)
    if through is not None:
        session.add(prune)
        session.flush()
        audit.record(session, actor, "sync.prune_feed", "change_feed", through,
                     details={"events_deleted": deleted, "older_than": older_than.isoformat()})
    return prune
