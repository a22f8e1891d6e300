"""The caller's own notifications (reminders, escalations): list them, mark one read."""

from sqlalchemy import select, update

from server.errors import NotFound
from server.models import Notification
from server.models._types import utcnow
from server.services import audit
from server.services import changes as feed
from server.services.paging import page


def notifications_query(actor):
    """Select the actor's own notifications, newest first. Nobody reads another's."""
    return (select(Notification).where(Notification.user_id == actor.id)
            .order_by(Notification.raised_at.desc(), Notification.id.desc()))


def list_notifications(session, actor, *, unread=False, kind=None, limit, offset=0, cursor=None):
    query = notifications_query(actor)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return page(session, query, limit=limit, offset=offset, cursor=cursor)


def mark_read(session, actor, notification_id):
    """Mark one of the actor's notifications read (once: reading again changes nothing)."""
    notification = session.scalar(notifications_query(actor)
                                  .where(Notification.id == notification_id))
    if notification is None:
        raise NotFound(f"Notification {notification_id} not found.")
    if notification.read_at is None:
        session.execute(update(Notification).where(Notification.id == notification.id,
                                                   Notification.read_at.is_(None))
                        .values(read_at=utcnow()))
        session.refresh(notification)
        feed.emit(session, "notification", notification.id, user_id=actor.id)
        audit.record(session, actor, "notification.read", "notification", notification.id)
    return notification
