"""Session settings: lifetime from the environment, the Secure flag tri-state."""

from datetime import timedelta

import pytest

from server.config import Config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("WEB_SESSION_HOURS", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)


def test_page_sessions_last_ten_hours_by_default():
    config = Config()
    assert config.WEB_SESSION_HOURS == 10
    assert config.PERMANENT_SESSION_LIFETIME == timedelta(hours=10)


def test_page_session_lifetime_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_SESSION_HOURS", "8")
    assert Config().PERMANENT_SESSION_LIFETIME == timedelta(hours=8)


def test_secure_flag_follows_the_request_scheme_unless_set():
    assert Config().SESSION_COOKIE_SECURE is None


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False),
                                                 ("false", False)])
def test_secure_flag_can_be_set_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", value)
    assert Config().SESSION_COOKIE_SECURE is expected


@pytest.mark.parametrize("days", ["0", "400"])
def test_a_complaint_feedback_setting_out_of_range_stops_the_start(monkeypatch, days):
    monkeypatch.setenv("COMPLAINT_FEEDBACK_DAYS", days)
    with pytest.raises(ValueError, match="COMPLAINT_FEEDBACK_DAYS"):
        Config()
