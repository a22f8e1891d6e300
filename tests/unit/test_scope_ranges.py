"""Scope prefixes: nested assignments merge, ranges hold exactly the cells below a prefix."""

from server.services.scope import PATH_END, ResolvedScope, merge_prefixes


def test_nested_prefixes_merge_into_the_topmost():
    rows = [(1, "/1/3/"), (1, "/1/"), (1, "/1/3/7/"), (1, "/10/"), (2, "/1/"), (1, "/1/")]
    assert merge_prefixes(rows) == ((1, "/1/"), (1, "/10/"), (2, "/1/"))


def test_a_prefix_is_no_prefix_of_a_longer_id():
    scope = ResolvedScope(everything=False, ranges=merge_prefixes([(1, "/1/")]))
    assert scope.contains(1, "/1/") and scope.contains(1, "/1/12/")
    assert not scope.contains(1, "/10/") and not scope.contains(1, "/12/1/")
    assert not scope.contains(2, "/1/")
    assert not scope.contains(1, "/1/", strictly_below=True)
    assert scope.contains(1, "/1/5/", strictly_below=True)


def test_the_range_end_sorts_above_every_path_character():
    assert all(char < PATH_END for char in "/0123456789")
    assert "/1/" < "/1/99/" < "/1/" + PATH_END < "/10/"


def test_admins_and_nobody():
    assert ResolvedScope(everything=True).contains(5, "/9/")
    assert not ResolvedScope(everything=False).contains(5, "/9/")


def test_range_bounds_are_written_into_the_sql_not_bound():
    """A one-cell range and a province get plans of their own (no generic plan for both)."""
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql

    from server.models import GridCell
    from server.services.scope import subtree_clause

    statement = select(GridCell.id).where(subtree_clause(GridCell, 7, "/1/23/"))
    # As it is sent: literal_execute values are rendered when the statement runs.
    sql = str(statement.compile(dialect=postgresql.dialect(),
                                compile_kwargs={"render_postcompile": True}))
    assert "path >= '/1/23/'" in sql and "path < '/1/23/~'" in sql and "map_id = 7" in sql
    assert "%(" not in sql
