"""Handheld terminals: register with a sign-in, authenticate by device token, revoke."""

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.errors import NotFound, Unauthorized
from server.models import Device
from server.models._types import utcnow
from server.services import audit
from server.services.credentials import hash_token
from server.services.paging import page

# Device tokens carry a prefix so one lookup finds the right table.
DEVICE_TOKEN_PREFIX = "gd_"
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


def register_device(session, user, *, device_uid, name="", ttl_hours):
    """Issue a token binding this device to the user; an older token of the device is revoked."""
    now = utcnow()
    for old in session.scalars(select(Device).where(Device.user_id == user.id,
                                                    Device.device_uid == device_uid,
                                                    Device.revoked_at.is_(None))):
        old.revoked_at = now
    token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = Device(user_id=user.id, device_uid=device_uid, name=name,
                    token_hash=hash_token(token), expires_at=now + timedelta(hours=ttl_hours),
                    last_seen_at=now)
    session.add(device)
    session.flush()
    audit.record(session, user, "device.register", "device", device.id, device_id=device_uid,
                 details={"name": name, "expires_at": device.expires_at.isoformat()})
    return token, device


def authenticate_device(session, token):
    """Return the Device of a token, or raise Unauthorized with a code the terminal acts on."""
    device = session.scalar(select(Device).options(joinedload(Device.user))
                            .where(Device.token_hash == hash_token(token)))
    now = utcnow()
    if device is None:
        raise Unauthorized("The device token is not valid.", code="device_token_invalid")
    if device.revoked_at is not None:
        raise Unauthorized("This device has been revoked; keep its outbox and register again.",
                           code="device_revoked")
    if device.expires_at <= now:
        raise Unauthorized("The device registration has expired; sign in again on the device.",
                           code="device_expired")
    if not device.user.active:
        raise Unauthorized("The account is disabled.", code="account_disabled")
    return device


def touch(session, device):
    """Note that the device was seen, at most every few minutes (no write per request)."""
    now = utcnow()
    if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
        device.last_seen_at = now
        session.flush()


def list_devices_of(session, actor, *, limit, offset=0, cursor=None):
    """Return a page of the devices the actor may see."""
    return page(session, devices_query(actor), limit=limit, offset=offset, cursor=cursor)


def devices_query(actor):
    """Select the devices the actor may see: their own, or all for admins."""
    query = select(Device).order_by(Device.id)
    return query if actor.is_admin else query.where(Device.user_id == actor.id)


def revoke_device(session, actor, device_id):
    """Revoke a device (its owner or an admin); it gets 401 device_revoked from then on."""
    device = session.scalar(devices_query(actor).where(Device.id == device_id))
    if device is None:
        raise NotFound(f"Device {device_id} not found.")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor, "device.revoke", "device", device.id,
                     device_id=device.device_uid)
    return device
