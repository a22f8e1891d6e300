"""Sign-in, bearer tokens and login throttling."""

from datetime import timedelta

import pytest
import time_machine

from server.models import ApiToken, LoginThrottle
from server.models._types import utcnow
from tests.factories import PASSWORD, auth_headers, make_user


def sign_in(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_token_is_issued_for_good_credentials_and_stored_hashed(client, db_session):
    user = make_user(db_session, "officer", "li")
    response = sign_in(client, "li", PASSWORD)
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["username"] == "li" and body["user"]["role"] == "officer"
    stored = db_session.query(ApiToken).filter_by(user_id=user.id).one()
    assert stored.token_hash != body["token"] and len(stored.token_hash) == 64
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["username"] == "li"


def test_unknown_user_and_wrong_password_get_the_same_answer(client, db_session):
    make_user(db_session, "officer", "li")
    wrong = sign_in(client, "li", "nope-nope-nope")
    unknown = sign_in(client, "nobody", "nope-nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "bad_credentials"


def test_repeated_failures_lock_out_known_and_unknown_names_alike(client, app, db_session):
    make_user(db_session, "officer", "li")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for name in ("li", "ghost"):
        for _ in range(limit):
            assert sign_in(client, name, "wrong-password").status_code == 401
        locked = sign_in(client, name, "wrong-password")
        assert locked.status_code == 429
        assert locked.get_json()["error"]["code"] == "too_many_attempts"
        assert int(locked.headers["Retry-After"]) > 0
    # Even the right password is refused while locked.
    assert sign_in(client, "li", PASSWORD).status_code == 429


def test_lockout_ends_after_the_lock_period(client, app, db_session):
    make_user(db_session, "officer", "li")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, "li", "wrong-password")
    later = utcnow() + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)
    with time_machine.travel(later, tick=False):
        assert sign_in(client, "li", PASSWORD).status_code == 201
    throttle = db_session.get(LoginThrottle, "user:li")
    db_session.refresh(throttle)
    assert throttle.failures == 0


def test_missing_bad_and_revoked_tokens_are_refused_with_a_code(client, db_session):
    user = make_user(db_session, "officer")
    assert client.get("/api/v1/users/me").get_json()["error"]["code"] == "token_missing"
    bad = client.get("/api/v1/users/me", headers={"Authorization": "Bearer xyz"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "token_invalid"
    headers = auth_headers(db_session, user)
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    revoked = client.get("/api/v1/users/me", headers=headers)
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "token_revoked"


def test_expired_token_is_refused(client, db_session):
    user = make_user(db_session, "officer")
    headers = auth_headers(db_session, user, ttl_hours=1)
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        response = client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"


def test_malformed_sign_in_body_is_a_422_naming_the_field(client, db_session):
    response = client.post("/api/v1/auth/token", json={"username": "li"})
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert body["code"] == "validation_failed"
    assert "password" in str(body["details"])
    assert db_session.query(LoginThrottle).count() == 0


@pytest.mark.parametrize("kind", ["api", "device"])
def test_authenticating_leaves_no_transaction_open(app, client, db_session, kind):
    """On SQLite every transaction holds the write lock: none may stay open while a photo's
    bytes are read from a slow network."""
    from server.authentication import current_user
    from server.extensions import db

    user = make_user(db_session, "coordinator", "slowlink")
    if kind == "api":
        headers = auth_headers(db_session, user)
    else:
        token = client.post("/api/v1/devices/", json={
            "username": "slowlink", "password": PASSWORD, "device_uid": "term-slow"}).get_json()
        headers = {"Authorization": f"Bearer {token['device_token']}"}
    with app.test_request_context("/api/v1/photos/x", headers=headers):
        assert current_user().id == user.id
        assert not db.session().in_transaction()
