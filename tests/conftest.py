"""Fixtures: one app per run on the database named by DATABASE_URL (SpatiaLite by default).

Integration tests each run inside a transaction that is rolled back at the end; the app's
own commits become savepoint releases.
"""

import os
from pathlib import Path

import pytest

# Test data lives in the repository (copied from ../shared/data, see data/ATTRIBUTION.md).
TEST_DATA = Path(__file__).resolve().parent / "data"
BOUNDARIES = TEST_DATA / "boundaries"
PHOTOS = TEST_DATA / "photos"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}")


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    from server import create_app
    from server.config import TestConfig

    os.environ["GRID_VAR_DIR"] = str(tmp_path_factory.mktemp("var"))
    app = create_app(TestConfig(database_url))
    with app.app_context():
        upgrade()  # the schema comes from the migrations, on both databases
        from server.extensions import db

        db.session.configure(join_transaction_mode="create_savepoint")
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before the interpreter does


@pytest.fixture(autouse=True)
def db_session(request):
    """Wrap an integration test in a transaction rolled back at the end.

    The test gets its own session on that connection; each request and CLI call gets the
    app's session in its own app context, as in production, so a request that fails and
    rolls back undoes only its own savepoint.
    """
    if "/integration/" not in str(request.node.fspath):
        yield None
        return
    app = request.getfixturevalue("app")
    from sqlalchemy.orm import Session

    from grid_maps import clear_index_cache
    from server.extensions import db
    from server.db import commit_order

    with app.app_context():
        engines = db.engines
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    engines[None] = connection
    clear_index_cache()
    # The test's own session never commits: number audit and feed rows as they come.
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      info={commit_order.SEAL_AT_ONCE: True})
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
        engines[None] = engine
        clear_index_cache()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(db_session):
    """The shared world of tests/factories.py (make_world), inside the test's transaction."""
    from tests.factories import make_world

    return make_world(db_session)
