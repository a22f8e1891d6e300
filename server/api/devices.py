"""Handheld terminals (手持执法终端): register with a sign-in, list, revoke."""

from flask import current_app
from flask_smorest import Blueprint

from server.authentication import check_credentials, current_user
from server.db import transaction
from server.errors import Unauthorized
from server.extensions import db
from server.schemas.common import PageArgs
from server.schemas.devices import DeviceRegister, DeviceRegistered, DeviceSchema
from server.services.credentials import BAD_CREDENTIALS
from server.services.devices import list_devices_of, register_device, revoke_device

blp = Blueprint("devices", __name__, description="Terminals and their device tokens")


@blp.post("/")
@blp.arguments(DeviceRegister)
@blp.response(201, DeviceRegistered)
@blp.alt_response(401, description="Wrong username or password")
@blp.alt_response(429, description="Too many failed attempts")
def register(data):
    """Sign in on a terminal: get a device token bound to you and this device id."""
    with transaction():
        user = check_credentials(data["username"], data["password"])
        if user is not None:
            token, device = register_device(db.session, user, device_uid=data["device_uid"],
                                            name=data["name"],
                                            ttl_hours=current_app.config["DEVICE_TOKEN_TTL_HOURS"])
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    return {"device_token": token, "expires_at": device.expires_at, "device": device, "user": user}


@blp.get("/")
@blp.arguments(PageArgs, location="query")
@blp.response(200, DeviceSchema(many=True))
def list_devices(args):
    """List your devices (admins: all)."""
    return list_devices_of(db.session, current_user(), **args)


@blp.post("/<int(max=2147483647):device_id>/revoke")
@blp.response(200, DeviceSchema)
def revoke(device_id):
    """Revoke a device: from then on it gets 401 device_revoked (its outbox stays on it)."""
    actor = current_user()
    with transaction():
        return revoke_device(db.session, actor, device_id)
