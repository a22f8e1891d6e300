"""Sign in for a bearer token; revoke it."""

from flask import current_app
from flask_smorest import Blueprint

from server.authentication import check_credentials, current_device, current_token
from server.db import transaction
from server.errors import Unauthorized
from server.extensions import db
from server.schemas.tokens import TokenRequest, TokenResponse
from server.services.credentials import BAD_CREDENTIALS, issue_token, revoke_token
from server.services.devices import revoke_device

# Named "auth" for its URL, /api/v1/auth/token, which terminals and scripts rely on.
blp = Blueprint("auth", __name__, description="Sign in and tokens")


@blp.post("/token")
@blp.arguments(TokenRequest)
@blp.response(201, TokenResponse)
@blp.alt_response(401, description="Wrong username or password")
@blp.alt_response(429, description="Too many failed attempts")
def create_token(credentials):
    """Sign in with username and password; get an opaque bearer token."""
    with transaction():
        user = check_credentials(credentials["username"], credentials["password"])
        if user is not None:
            token, record = issue_token(db.session, user,
                                        ttl_hours=current_app.config["TOKEN_TTL_HOURS"])
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    return {"token": token, "expires_at": record.expires_at, "user": user}


@blp.delete("/token")
@blp.response(204)
def delete_token():
    """Revoke the token used for this request (a device token revokes the device)."""
    device = current_device()
    with transaction():
        if device is not None:
            revoke_device(db.session, device.user, device.id)
        else:
            revoke_token(db.session, current_token())
