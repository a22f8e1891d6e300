"""PostgreSQL plans each execution for its own values (server/db/engine.py)."""

import pytest
from sqlalchemy import text


def test_every_connection_plans_each_execution(db_session):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache; SQLite has no generic plans")
    assert db_session.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
