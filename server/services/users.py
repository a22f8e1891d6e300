"""Creating and listing users."""

from sqlalchemy import select

from server.errors import Conflict, NotFound, ValidationFailed
from server.models import CellAssignment, GridCell, User
from server.models.user import ROLES
from server.services.paging import page
from server.services.passwords import hash_password
from server.services.scope import active_assignment_clause, cell_scope_clause

MIN_PASSWORD_LENGTH = 8


def create_user(session, *, username, role, password, display_name="", actor=None):
    """Add a user with a hashed password; usernames are unique, case-insensitively."""
    username = (username or "").strip()
    if not username:
        raise ValidationFailed("Username must not be empty.", details={"username": ["required"]})
    if role not in ROLES:
        raise ValidationFailed(
            f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.",
            details={"role": [f"must be one of {list(ROLES)}"]},
        )
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"Password must have at least {MIN_PASSWORD_LENGTH} characters.",
            details={"password": ["too short"]},
        )
    if find_user(session, username) is not None:
        raise Conflict(f"User {username!r} already exists.", code="user_exists")
    user = User(username=username, role=role, display_name=display_name or username,
                password_hash=hash_password(password), active=True)
    session.add(user)
    session.flush()
    from server.services import audit

    audit.record(session, actor, "user.create", "user", user.id,
                 after={"username": user.username, "role": role, "active": True})
    return user


def find_user(session, username):
    """Return the user with this username (case-insensitive) or None."""
    from sqlalchemy import func

    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def list_users(session, actor, *, limit, offset=0, cursor=None):
    """Return a page of the users the actor may see."""
    return page(session, visible_users_query(actor), limit=limit, offset=offset, cursor=cursor)


def get_user(session, actor, user_id):
    """Return one user the actor may see, or raise NotFound."""
    user = session.scalar(visible_users_query(actor).where(User.id == user_id))
    if user is None:
        raise NotFound(f"User {user_id} not found.")
    return user


def visible_users_query(actor):
    """Select the users the actor may see: all for admins, people in scope for supervisors."""
    if actor.is_admin:
        return select(User).order_by(User.id)
    if actor.role == "supervisor":
        in_scope = (select(CellAssignment.user_id)
                    .join(GridCell, GridCell.id == CellAssignment.cell_id)
                    .where(cell_scope_clause(actor), active_assignment_clause()))
        return select(User).where((User.id == actor.id) | User.id.in_(in_scope)).order_by(User.id)
    return select(User).where(User.id == actor.id)
