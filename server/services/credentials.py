"""Sign-in with throttling, and opaque bearer tokens stored hashed."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.errors import TooManyAttempts, Unauthorized
from server.models import ApiToken, LoginThrottle
from server.models._types import utcnow
from server.services import audit
from server.services.passwords import verify_password
from server.services.users import find_user

BAD_CREDENTIALS = "Wrong username or password."
# Addresses get a looser limit: an office shares one NAT address.
ADDRESS_FAILURE_FACTOR = 10


def hash_token(token):
    """Return the stored form of a bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session, username, password, *, remote_addr, max_failures, lock_minutes):
    """Return the user for good credentials, None for bad ones; count and lock out failures.

    The caller commits before answering, so failures are counted even though the
    sign-in is refused.

    The message is the same for an unknown user and a wrong password, and unknown
    names are throttled like known ones.
    """
    if "\x00" in (username or "") or "\x00" in (password or ""):
        return None  # no account can have one; PostgreSQL cannot even compare it
    now = utcnow()
    # Truncated: longer names cannot exist, and the key column is bounded.
    keys = [(f"user:{(username or '').strip().lower()[:128]}", max_failures)]
    if remote_addr:
        keys.append((f"addr:{remote_addr}", max_failures * ADDRESS_FAILURE_FACTOR))
    throttles = [(_throttle(session, key, now), limit) for key, limit in keys]
    for throttle, _ in throttles:
        if throttle.locked_until and throttle.locked_until > now:
            seconds = int((throttle.locked_until - now).total_seconds()) + 1
            raise TooManyAttempts("Too many failed sign-ins; try again later.", seconds)

    user = find_user(session, username or "")
    ok = verify_password(user.password_hash if user else None, password or "")
    if ok and user.active:
        for throttle, _ in throttles:
            if throttle.key.startswith("user:"):
                throttle.failures = 0
                throttle.locked_until = None
        session.flush()
        return user

    window = timedelta(minutes=lock_minutes)
    for throttle, limit in throttles:
        if now - throttle.window_started_at > window:
            throttle.failures = 0
            throttle.window_started_at = now
        throttle.failures += 1
        if throttle.failures >= limit:
            throttle.locked_until = now + window
    session.flush()
    return None


def _throttle(session, key, now):
    """Return the throttle row for key, created if missing and locked until commit.

    The lock serialises concurrent attempts on one name, so parallel guesses are all
    counted (PostgreSQL; SQLite transactions are serialised by BEGIN IMMEDIATE).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(LoginThrottle).values(
        key=key, failures=0, window_started_at=now).on_conflict_do_nothing())
    return session.scalars(select(LoginThrottle).where(LoginThrottle.key == key)
                           .with_for_update().execution_options(populate_existing=True)).one()


def issue_token(session, user, *, ttl_hours):
    """Create a bearer token for the user; return (token, ApiToken). Only the hash is kept."""
    token = secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, token_hash=hash_token(token),
                      expires_at=utcnow() + timedelta(hours=ttl_hours))
    session.add(record)
    session.flush()
    audit.record(session, user, "token.issue", "api_token", record.id,
                 details={"expires_at": record.expires_at.isoformat()})
    return token, record


def authenticate_token(session, token):
    """Return the ApiToken for a valid bearer token, or raise Unauthorized with a clear code."""
    if not token:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer TOKEN'.",
                           code="token_missing")
    record = session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                            .where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    if record is None:
        raise Unauthorized("The token is not valid.", code="token_invalid")
    if record.revoked_at is not None:
        raise Unauthorized("The token has been revoked.", code="token_revoked")
    if record.expires_at <= now:
        raise Unauthorized("The token has expired; sign in again.", code="token_expired")
    if not record.user.active:
        raise Unauthorized("The account is disabled.", code="account_disabled")
    return record


def revoke_token(session, record):
    """Mark a token revoked; it stays for the record."""
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.flush()
        audit.record(session, record.user, "token.revoke", "api_token", record.id)
