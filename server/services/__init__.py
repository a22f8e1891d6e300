"""Use cases: plain functions taking the session, the acting user and plain data."""
