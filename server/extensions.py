"""Flask extensions, created unbound and bound in create_app.

The flask-smorest Api is made per app in create_app: it keeps the spec of one app.
"""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by all models."""


# Each request has its own session, which ends with the request: after the commit, what the
# request wrote is what it answers with, without loading every object again.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
