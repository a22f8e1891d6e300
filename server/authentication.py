"""Who is calling: the bearer token of an API request (pages: server/web/sessions.py)."""

from flask import current_app, request

from server.extensions import db
from server.db import transaction
from server.services.credentials import authenticate_token, sign_in
from server.services.devices import DEVICE_TOKEN_PREFIX, authenticate_device, touch
from server.services.scope import require_role


def bearer_token():
    """Return the token from 'Authorization: Bearer TOKEN', or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_token():
    """Return the ApiToken or Device of this request, authenticating once per request."""
    # Kept on the request, not on g: g belongs to the app context, which can outlive a request.
    if "grid.api_token" not in request.environ:
        token = bearer_token()
        if token and token.startswith(DEVICE_TOKEN_PREFIX):
            # Its own transaction, ended here: the last-seen time (written every few minutes)
            # holds even if the request fails, and on SQLite, where every transaction takes
            # the write lock, no lock is held while a photo's bytes come in.
            with transaction():
                device = authenticate_device(db.session, token)
                touch(db.session, device)
            request.environ["grid.device"] = device
            request.environ["grid.api_token"] = device
        else:
            with transaction():
                request.environ["grid.api_token"] = authenticate_token(db.session, token)
    return request.environ["grid.api_token"]


def current_device():
    """Return the Device when the request came from a registered terminal, else None."""
    current_token()
    return request.environ.get("grid.device")


def current_user(*roles):
    """Return the authenticated user; with roles, also require one of them."""
    user = current_token().user
    if roles:
        require_role(user, *roles)
    return user


def check_credentials(username, password):
    """Sign in with the configured throttling; return the user or None (caller commits)."""
    config = current_app.config
    return sign_in(db.session, username, password, remote_addr=request.remote_addr,
                   max_failures=config["LOGIN_MAX_FAILURES"],
                   lock_minutes=config["LOGIN_LOCK_MINUTES"])

