"""Users: the admin creates them; everyone can read themselves."""

from flask_smorest import Blueprint

from server.authentication import current_user
from server.db import transaction
from server.extensions import db
from server.schemas.common import PageArgs
from server.schemas.users import UserCreate, UserSchema
from server.services import users as service

blp = Blueprint("users", __name__, description="Users and roles")


@blp.get("/")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args):
    """List the users you may see (admins: all; supervisors: staff on their cells)."""
    return service.list_users(db.session, current_user(), **args)


@blp.post("/")
@blp.arguments(UserCreate)
@blp.response(201, UserSchema)
def post_user(data):
    """Create a user (admin only)."""
    actor = current_user("admin")
    with transaction():
        return service.create_user(db.session, **data, actor=actor)


@blp.get("/me")
@blp.response(200, UserSchema)
def get_me():
    """Return the signed-in user."""
    return current_user()


@blp.get("/<int(max=2147483647):user_id>")
@blp.response(200, UserSchema)
def get_user(user_id):
    """Return one user you may see."""
    return service.get_user(db.session, current_user(), user_id)
