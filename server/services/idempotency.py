"""Records keyed by the client's UUID: stored once, however often and however concurrently sent."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError


def insert_once(session, row, model):
    """Add a row keyed by its client_uuid in a savepoint; return None when it is stored, or the
    row already stored under that UUID when the same UUID arrived at the same moment on
    another connection and won (the caller answers it as a replay)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        winner = session.scalar(select(model).where(model.client_uuid == row.client_uuid))
        if winner is None:
            raise
        return winner
    return None
