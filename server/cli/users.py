"""`flask users create NAME --role ROLE`."""

import sys

import click
from flask.cli import AppGroup

from server.db import transaction
from server.errors import AppError
from server.extensions import db
from server.models.user import ROLES
from server.services.users import create_user

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", help="Password; read from standard input when omitted.")
@click.option("--display-name", default="", help="Name shown on pages.")
def create(username, role, password, display_name):
    """Create a user; the password comes from --password or standard input."""
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    try:
        with transaction():
            user = create_user(db.session, username=username, role=role, password=password,
                               display_name=display_name)
    except AppError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Created user {user.username} (id {user.id}, role {user.role}).")
