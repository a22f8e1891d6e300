"""The database layer: engine set-up, the one place that commits, and commit ordering.

- `engine.py`: engine options and per-connection set-up (SpatiaLite or PostGIS).
- `commit_order.py`: rows (audit events, feed events) numbered when their transaction
  commits, under a lock held only for the commit.
- `transaction()` below: the only `commit()` in the code base; views and CLI commands wrap a
  service call in it.

`init_app(app)` wires all of it to the app's session in `create_app`; nothing attaches at
import time.
"""

from contextlib import contextmanager

from server.extensions import db


def init_app(app):
    """Bind the database to the app: engine options, connection set-up, commit ordering."""
    from server.db import commit_order
    from server.db.engine import configure_engine, engine_options
    from server.services.audit import link_events
    from server.services import scope
    from server.services.changes import number_events

    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                          engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    # The audit chain is sealed before the feed, always: the head locks never cross.
    commit_order.install(db.session, {"audit": link_events, "feed": number_events})
    scope.install(db.session)  # scopes cached per request are forgotten on writes


@contextmanager
def transaction():
    """Commit the session when the block succeeds; roll back and re-raise otherwise."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def checkpoint():
    """Commit what the enclosing transaction() block did so far; the block goes on in a new
    transaction (long batch work: no batch holds its row locks past its own end)."""
    db.session.commit()
