from tests.factories import make_grid


def test_demo_style_grid_builds_and_activates(db_session):
    grid = make_grid(db_session)
    assert grid.map.status == "active"
    assert len(grid.cells) == 14
    assert {c.level for c in grid.cells.values()} == {"district", "street", "community"}
