"""Page sessions: CSRF tokens on sign-in and sign-out, server-side sessions that end at
sign-out or after their lifetime, and the Secure flag over HTTPS."""

from datetime import UTC, datetime, timedelta

import time_machine

from server.models import AuditEvent, WebSession
from tests.factories import PASSWORD, make_user
from tests.pages import csrf_token, sign_in


def session_cookie(client):
    return client.get_cookie("session").value


def test_sign_in_with_the_form_token_opens_the_map(client, db_session):
    make_user(db_session, "coordinator", "wang")
    response = sign_in(client, "wang")
    assert response.status_code == 302 and response.headers["Location"].endswith("/map")
    assert client.get("/map").status_code == 200


def test_sign_in_without_a_csrf_token_is_refused_and_signs_nobody_in(client, db_session):
    make_user(db_session, "coordinator", "wang")
    response = client.post("/login", data={"username": "wang", "password": PASSWORD})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert client.get("/map").status_code == 302
    assert db_session.query(WebSession).count() == 0


def test_sign_in_with_a_token_from_another_browser_is_refused(app, client, db_session):
    # Login CSRF: a page elsewhere posts the attacker's own token and credentials.
    make_user(db_session, "coordinator", "mallory")
    attackers_token = csrf_token(app.test_client())
    response = client.post("/login", data={"username": "mallory", "password": PASSWORD,
                                           "csrf_token": attackers_token})
    assert response.status_code == 400
    assert client.get("/map").status_code == 302


def test_sign_out_without_a_csrf_token_is_refused_and_keeps_the_session(client, db_session):
    make_user(db_session, "coordinator", "wang")
    sign_in(client, "wang")
    assert client.post("/logout").status_code == 400
    assert client.get("/map").status_code == 200


def test_session_cookie_replayed_after_sign_out_is_signed_out(app, client, db_session):
    make_user(db_session, "coordinator", "wang")
    sign_in(client, "wang")
    stolen = session_cookie(client)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/map")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/map").status_code == 302
    assert replay.get("/map/cells.geojson").status_code == 401


def test_sign_out_revokes_the_session_and_audits_both_ends(client, db_session):
    user = make_user(db_session, "coordinator", "wang")
    sign_in(client, "wang")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/map")})
    record = db_session.query(WebSession).filter_by(user_id=user.id).one()
    assert record.revoked_at is not None
    actions = [a for (a,) in db_session.query(AuditEvent.action).filter(
        AuditEvent.entity_type == "web_session")]
    assert sorted(actions) == ["web_session.end", "web_session.start"]


def test_signing_in_again_ends_the_previous_session(client, db_session):
    make_user(db_session, "coordinator", "wang")
    make_user(db_session, "coordinator", "li")
    sign_in(client, "wang")
    sign_in(client, "li")
    sessions = {s.user.username: s for s in db_session.query(WebSession)}
    assert sessions["wang"].revoked_at is not None and sessions["li"].revoked_at is None


def test_session_ends_after_its_configured_hours(app, client, db_session):
    make_user(db_session, "coordinator", "wang")
    hours = app.config["WEB_SESSION_HOURS"]
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        sign_in(client, "wang")
    with time_machine.travel(start + timedelta(hours=hours, minutes=-1), tick=False):
        assert client.get("/map").status_code == 200
    with time_machine.travel(start + timedelta(hours=hours, minutes=1), tick=False):
        assert client.get("/map").status_code == 302


def test_session_cookie_is_secure_over_https(client, db_session):
    make_user(db_session, "coordinator", "wang")
    token = csrf_token(client, base_url="https://grid.example")
    response = client.post("/login", base_url="https://grid.example",
                           headers={"Referer": "https://grid.example/login"},
                           data={"username": "wang", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert "; Secure" in response.headers["Set-Cookie"]


def test_session_cookie_is_not_secure_over_plain_http_by_default(client, db_session):
    make_user(db_session, "coordinator", "wang")
    response = sign_in(client, "wang")
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_secure_flag_can_be_forced_on(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    make_user(db_session, "coordinator", "wang")
    response = client.get("/login")
    assert "; Secure" in response.headers["Set-Cookie"]


def test_api_needs_no_csrf_token(client, db_session):
    make_user(db_session, "coordinator", "wang")
    response = client.post("/api/v1/auth/token", json={"username": "wang", "password": PASSWORD})
    assert response.status_code == 201
