"""The signed-in user of the pages, from a server-side session named in the cookie.

The Flask cookie carries only `sid` (and Flask-WTF's CSRF secret); the WebSession row decides
whether it still stands, so sign-out, expiry (WEB_SESSION_HOURS) and disabling the account
end it even for a copied cookie.
"""

from flask import current_app, request, session

from server.db import transaction
from server.errors import Unauthorized
from server.extensions import db
from server.services.web_sessions import end_web_session, find_web_session, start_web_session


def page_user():
    """Return the user signed in on the pages, or None; looked up once per request."""
    if "grid.page_user" not in request.environ:
        token = session.get("sid")
        user = None
        if token:
            with transaction():  # ended here: on SQLite every transaction holds the write lock
                record = find_web_session(db.session, token)
                user = record.user if record is not None else None
        request.environ["grid.page_user"] = user
    return request.environ["grid.page_user"]


def require_page_user():
    """Return the signed-in user, or raise Unauthorized."""
    user = page_user()
    if user is None:
        raise Unauthorized("Sign in first.", code="login_required")
    return user


def sign_in_page(user):
    """Open a page session for the user in a fresh cookie (ending the browser's previous one)."""
    previous = session.get("sid")
    with transaction():
        if previous:
            end_web_session(db.session, previous)
        token = start_web_session(db.session, user, hours=current_app.config["WEB_SESSION_HOURS"])
    session.clear()  # a new CSRF secret too: nothing from before the sign-in carries over
    session["sid"] = token
    request.environ["grid.page_user"] = user


def sign_out_page():
    """End the page session on the server and clear the cookie."""
    token = session.get("sid")
    if token:
        with transaction():
            end_web_session(db.session, token)
    session.clear()
    request.environ["grid.page_user"] = None
