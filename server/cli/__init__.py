"""Command line: `flask users`, `flask grid`, `flask demo`, `flask audit`, `flask sync`, ..."""


def register_cli(app):
    """Attach the command groups to the app."""
    from server.cli.audit import audit_cli
    from server.cli.demo import demo_cli
    from server.cli.followups import followups_cli
    from server.cli.grid import grid_cli
    from server.cli.jobs import jobs_cli
    from server.cli.premises import checklists_cli, premises_cli
    from server.cli.sync import sync_cli
    from server.cli.users import users_cli

    for group in (users_cli, grid_cli, demo_cli, audit_cli, premises_cli, checklists_cli,
                  sync_cli, followups_cli, jobs_cli):
        app.cli.add_command(group)
