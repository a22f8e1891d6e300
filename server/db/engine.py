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
    """Attach per-connection set-up to an engine (SpatiaLite only)."""
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
