"""Engine options per database: SpatiaLite for the embedded default, PostGIS otherwise."""

import os
from functools import partial

from sqlalchemy import event


def engine_options(url):
    """Return SQLAlchemy engine options for the database URL."""
    if not url.startswith("sqlite"):
        return {"pool_pre_ping": True}
    # The interpreter's sqlite3 cannot load extensions; pysqlite3 can.
    import pysqlite3.dbapi2

    os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
    return {"module": pysqlite3.dbapi2, "connect_args": {"timeout": 30}}


def configure_engine(engine):
    """Attach per-connection set-up to an engine (SpatiaLite; PostgreSQL: the plan cache)."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _plan_each_execution)
        return
    if engine.dialect.name != "sqlite":
        return
    from geoalchemy2 import load_spatialite

    load = partial(load_spatialite, init_mode="WGS84")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        load(dbapi_connection, connection_record)
        # Let SQLAlchemy, not the driver, issue BEGIN so SAVEPOINTs work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _plan_each_execution(dbapi_connection, connection_record):
    """PostgreSQL plans every execution for its own values, never once for any values.

    psycopg prepares a statement it has run five times, and PostgreSQL may then use one
    generic plan for all values. One statement text serves a one-cell coordinator and a whole
    province (scope path ranges) and IN lists of a page of ids: a generic plan fits neither
    (measured: a pull page of 1,000 premises in 1.1 s instead of 40 ms, issue 10).
    """
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.autocommit = autocommit
