"""Users: the admin creates them; everyone can read themselves."""

from flask_smorest import Blueprint

from server.auth import current_user
from server.db import transaction
from server.errors import NotFound
from server.extensions import db
from server.models import User
from server.schemas.common import PageArgs
from server.schemas.users import UserCreate, UserSchema
from server.services.assignments import visible_users_query
from server.services.users import create_user

blp = Blueprint("users", __name__, description="Users and roles")


@blp.get("/")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args):
    """List the users you may see (admins: all; supervisors: staff on their cells)."""
    query = visible_users_query(current_user()).limit(args["limit"]).offset(args["offset"])
    return db.session.scalars(query).all()


@blp.post("/")
@blp.arguments(UserCreate)
@blp.response(201, UserSchema)
def post_user(data):
    """Create a user (admin only)."""
    actor = current_user("admin")
    with transaction():
        return create_user(db.session, **data, actor=actor)


@blp.get("/me")
@blp.response(200, UserSchema)
def get_me():
    """Return the signed-in user."""
    return current_user()


@blp.get("/<int(max=2147483647):user_id>")
@blp.response(200, UserSchema)
def get_user(user_id):
    """Return one user you may see."""
    query = visible_users_query(current_user()).where(User.id == user_id)
    user = db.session.scalar(query)
    if user is None:
        raise NotFound(f"User {user_id} not found.")
    return user
