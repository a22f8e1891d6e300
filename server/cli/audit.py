"""`flask audit verify`: walk the hash chain and report the first broken link."""

import click
from flask.cli import AppGroup

from server.extensions import db
from server.services.audit import verify_chain

audit_cli = AppGroup("audit", help="The audit trail (执法全过程记录).")


@audit_cli.command("verify")
def verify():
    """Check every audit event's hash and link; exit 1 at the first broken one."""
    checked, broken = verify_chain(db.session)
    if broken:
        click.echo(f"BROKEN at event {broken['id']}: {broken['reason']} "
                   f"({checked} event(s) before it are intact).")
        raise SystemExit(1)
    click.echo(f"OK: {checked} audit event(s), chain intact.")
