"""Flask extensions, created unbound and bound in create_app.

The flask-smorest Api is made per app in create_app: it keeps the spec of one app.
"""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by all models."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
