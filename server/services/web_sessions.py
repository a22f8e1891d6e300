"""Page sign-ins: a random id in the signed cookie, its hash and lifetime in the database.

The cookie alone proves nothing after sign-out: every page request looks the id up, and a
revoked or expired one is signed out.
"""

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.models import WebSession
from server.models._types import utcnow
from server.services import audit
from server.services.credentials import hash_token


def start_web_session(session, user, *, hours):
    """Open a page session for the user; return the id to put in the cookie."""
    token = secrets.token_urlsafe(32)
    record = WebSession(user_id=user.id, token_hash=hash_token(token),
                        expires_at=utcnow() + timedelta(hours=hours))
    session.add(record)
    session.flush()
    audit.record(session, user, "web_session.start", "web_session", record.id,
                 details={"expires_at": record.expires_at.isoformat()})
    return token


def find_web_session(session, token):
    """Return the live WebSession for the cookie's id, or None (unknown, ended, expired)."""
    if not token or not isinstance(token, str):
        return None
    record = session.scalar(select(WebSession).options(joinedload(WebSession.user))
                            .where(WebSession.token_hash == hash_token(token)))
    if record is None or record.revoked_at is not None or record.expires_at <= utcnow():
        return None
    if not record.user.active:
        return None
    return record


def end_web_session(session, token):
    """End the page session with that id, if it is still open."""
    record = find_web_session(session, token)
    if record is not None:
        record.revoked_at = utcnow()
        session.flush()
        audit.record(session, record.user, "web_session.end", "web_session", record.id)
