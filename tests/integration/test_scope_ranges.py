"""The scope as path ranges gives what the old correlated LIKE gave, for every user and cell;
it is read once per request and forgotten when assignments change."""

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from server.extensions import db
from server.models import CellAssignment, GridCell, User
from server.services.scope import active_assignment_clause, cell_scope_clause, resolve_scope
from tests.factories import assign


def old_clause(user, strictly_below=False):
    """The scope check as it was before ranges: EXISTS with path LIKE assigned.path || '%'."""
    assigned = aliased(GridCell)
    below = [GridCell.id != assigned.id] if strictly_below else []
    return exists(select(1).select_from(CellAssignment)
                  .join(assigned, assigned.id == CellAssignment.cell_id)
                  .where(CellAssignment.user_id == user.id, active_assignment_clause(),
                         assigned.map_id == GridCell.map_id,
                         GridCell.path.startswith(assigned.path, autoescape=False), *below))


def test_ranges_give_what_like_gave_for_every_user(db_session, world):
    assign(db_session, world.admin, world.chief, world.grid.cells["D1001001"])  # nested: adds nothing
    for user in db_session.scalars(select(User).order_by(User.id)):
        if user.is_admin:
            continue
        for strictly in (False, True):
            new = set(db_session.scalars(select(GridCell.id).where(
                cell_scope_clause(user, strictly_below=strictly))))
            old = set(db_session.scalars(select(GridCell.id).where(old_clause(user, strictly))))
            assert new == old, (user.username, strictly)
    assert len(resolve_scope(world.chief).ranges) == 1


def test_a_scope_is_read_once_per_request_and_forgotten_when_assignments_change(
        app, db_session, world):
    with app.test_request_context():
        wang = db.session.get(User, world.wang.id)
        admin = db.session.get(User, world.admin.id)
        first = resolve_scope(wang)
        assert resolve_scope(wang) is first
        assign(db.session, admin, wang, db.session.get(GridCell, world.grid.cells["D2001001"].id))
        second = resolve_scope(wang)
        assert second is not first and len(second.ranges) == len(first.ranges) + 1
        db.session.rollback()
        assert resolve_scope(wang) == first
