"""After a new map version is activated, each terminal receives each changed entity once."""

from collections import Counter
from functools import partial

from shapely.geometry import Point

from server.models import ChangeEvent, GridCell, Premises
from server.services import grid as grid_service
from tests.factories import (
    DISTRICTS,
    as_bytes,
    assign,
    auth_headers,
    feature_collection,
    make_premises,
    make_user,
)


def pull(client, headers, cursor=None, scope=None, limit=3):
    query = {k: v for k, v in {"cursor": cursor, "scope": scope, "limit": limit}.items() if v}
    response = client.get("/api/v1/sync/pull", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


class Terminal:
    """What the reference client keeps: entities by (type, id), its cursor and scope."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers
        self.state, self.cursor, self.scope = {}, None, None

    def pull_all(self, limit=3):
        """Pull until has_more is false; return how often each (type, id) was delivered."""
        delivered = Counter()
        while True:
            page = pull(self.client, self.headers, self.cursor, self.scope, limit)
            assert len(page["items"]) <= limit
            if page["reset"]:
                self.state.clear()
            for item in page["items"]:
                delivered[(item["type"], item["id"])] += 1
                if item["op"] == "delete":
                    self.state.pop((item["type"], item["id"]), None)
                else:
                    self.state[(item["type"], item["id"])] = item["data"]
            self.cursor, self.scope = page["next_cursor"], page["scope"]
            if not page["has_more"]:
                return delivered


def new_version(db_session, communities):
    """The same districts, each street cut into `communities` (the first version: 2)."""
    draft = grid_service.create_map(db_session, jurisdiction_code="T1", name="v2")
    grid_service.import_level(db_session, draft, as_bytes(feature_collection(DISTRICTS)),
                              level="district")
    for district in db_session.query(GridCell).filter_by(map_id=draft.id, level="district"):
        for street in grid_service.subdivide_cell(db_session, district, 2):
            grid_service.subdivide_cell(db_session, street, communities)
    return draft


def spread_premises(db_session, world, district=DISTRICTS[0][2], count=6):
    """Premises on a count x count lattice over a district (some change cell with the map)."""
    low_x, low_y, high_x, high_y = district.bounds
    made = []
    for i in range(count):
        for j in range(count):
            point = Point(low_x + (i + 0.5) * (high_x - low_x) / count,
                          low_y + (j + 0.5) * (high_y - low_y) / count)
            made.append(make_premises(db_session, world.admin, world.grid.cells["D1001001"],
                                      lon=point.x, lat=point.y))
    return made


def test_after_activation_each_terminal_receives_each_changed_premises_once(
        client, db_session, world):
    neighbour = make_user(db_session, "coordinator", "li")
    assign(db_session, world.admin, neighbour, world.grid.cells["D1001002"])
    spread_premises(db_session, world)
    users = {"wang": world.wang, "li": neighbour, "chief": world.chief, "admin": world.admin}
    terminals = {name: Terminal(client, auth_headers(db_session, user))
                 for name, user in users.items()}
    before = {}
    for name, terminal in terminals.items():
        terminal.pull_all()
        before[name] = {key for key in terminal.state if key[0] == "premises"}
    old_cells = {premises.id: premises.cell_id for premises in db_session.query(Premises)}
    old_codes = {cell.id: cell.code for cell in db_session.query(GridCell)}

    result = grid_service.activate_map(db_session, new_version(db_session, 3),
                                       actor=world.admin)
    assert result["premises_moved"] == len(old_cells)
    new_codes = {cell.id: cell.code for cell in db_session.query(GridCell)}
    codes = {premises.id: (old_codes[old_cells[premises.id]], new_codes[premises.cell_id])
             for premises in db_session.query(Premises)}
    # The new map moves premises from wang's community into his neighbour's, and from the
    # neighbour's out to a community nobody here has.
    assert any(old == "D1001001" and new == "D1001002" for old, new in codes.values())
    assert any(old == "D1001002" and new == "D1001003" for old, new in codes.values())

    for name, terminal in terminals.items():
        delivered = terminal.pull_all()
        fresh = Terminal(client, terminal.headers)
        fresh.pull_all(limit=1000)
        now = {key for key in fresh.state if key[0] == "premises"}
        premises = {key: count for key, count in delivered.items() if key[0] == "premises"}
        # Every premises the terminal had or has now changed cell: each comes exactly once.
        assert set(premises) == before[name] | now, name
        assert set(premises.values()) == {1}, (name, premises)
        assert max(delivered.values()) == 1, name
        # And nothing is lost: the terminal holds what a fresh full pull holds (an admin's
        # terminal too: its scope, everything, changed with the active maps, so it is sent a
        # snapshot holding the new map's cells).
        assert terminal.state == fresh.state, name


def test_a_terminal_that_pulls_between_batches_of_an_activation_misses_nothing(
        client, db_session, world, monkeypatch):
    """The command line commits after each batch: a pull may land between two of them."""
    neighbour = make_user(db_session, "coordinator", "li")
    assign(db_session, world.admin, neighbour, world.grid.cells["D1001002"])
    spread_premises(db_session, world)
    terminals = [Terminal(client, auth_headers(db_session, user))
                 for user in (world.wang, neighbour, world.chief)]
    for terminal in terminals:
        terminal.pull_all()

    def pull_between(done, total):
        for terminal in terminals:
            terminal.pull_all()

    from server.services import premises as premises_service

    from server.services import changes

    monkeypatch.setattr(changes, "COPY_FROM", 1)  # PostgreSQL: the feed's rows by COPY
    monkeypatch.setattr(premises_service, "rederive_cells",
                        partial(premises_service.rederive_cells, batch_size=7))
    batches = []
    grid_service.activate_map(db_session, new_version(db_session, 3), actor=world.admin,
                              after_batch=lambda done, total: batches.append(done)
                              or pull_between(done, total))
    assert len(batches) > 3
    moved = db_session.query(ChangeEvent).filter(ChangeEvent.entity_type == "premises",
                                                 ChangeEvent.old_cell_id.is_not(None)).all()
    assert len(moved) >= 36 and all(event.at is not None and event.cell_id for event in moved)
    for terminal in terminals:
        delivered = terminal.pull_all()
        assert max(delivered.values(), default=1) == 1
        fresh = Terminal(client, terminal.headers)
        fresh.pull_all(limit=1000)
        assert terminal.state == fresh.state
