"""The one place that commits."""

from contextlib import contextmanager

from server.extensions import db


@contextmanager
def transaction():
    """Commit the session when the block succeeds; roll back and re-raise otherwise."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
