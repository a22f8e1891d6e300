"""Finding the cell that covers a point."""

import threading
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from grid_maps import CellIndex, cached_index, clear_index_cache, read_feature_collection

DATA = Path(__file__).resolve().parents[1] / "data" / "boundaries"


@pytest.fixture
def two_squares():
    """Return an index of two unit squares sharing the edge x = 1; keys differ from codes."""
    return CellIndex([("west", "B", box(0, 0, 1, 1)), ("east", "A", box(1, 0, 2, 1))])


@pytest.fixture(scope="module")
def inner_mongolia():
    features, _ = read_feature_collection(
        (DATA / "inner-mongolia-districts.geojson").read_bytes(), code_property="gb"
    )
    return features


def test_point_inside_a_cell_gets_its_key(two_squares):
    assert two_squares.lookup(0.5, 0.5) == "west"


def test_point_outside_every_cell_gets_none(two_squares):
    assert two_squares.lookup(5, 5) is None


def test_point_on_a_shared_edge_goes_to_the_smaller_code(two_squares):
    assert two_squares.lookup(1, 0.5) == "east"


def test_point_on_an_outer_edge_is_covered(two_squares):
    assert two_squares.lookup(0, 0.5) == "west"


def test_point_on_a_vertex_shared_by_four_cells_goes_to_the_smallest_code():
    index = CellIndex(
        [
            (1, "0103", box(0, 0, 1, 1)),
            (2, "0101", box(1, 0, 2, 1)),
            (3, "0104", box(0, 1, 1, 2)),
            (4, "0102", box(1, 1, 2, 2)),
        ]
    )
    assert index.lookup(1, 1) == 2


def test_vertex_shared_by_real_districts_goes_to_the_smaller_code():
    features, _ = read_feature_collection((DATA / "wuhai-districts.geojson").read_bytes(), code_property="gb")
    vertices = [set(map(tuple, shapely.get_coordinates(f.geometry).tolist())) for f in features]
    shared = sorted(vertices[0] & vertices[1])[0]
    index = CellIndex([(f.code, f.code, f.geometry) for f in features])
    assert index.lookup(*shared) == min(features[0].code, features[1].code)
    assert index.lookup_many([shared[0]], [shared[1]]) == [index.lookup(*shared)]


def test_lookup_many_matches_lookup_on_random_points(inner_mongolia):
    index = CellIndex([(f.index, f.code, f.geometry) for f in inner_mongolia])
    minx, miny, maxx, maxy = shapely.total_bounds([f.geometry for f in inner_mongolia])
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)
    expected = [index.lookup(x, y) for x, y in zip(lons, lats)]
    assert index.lookup_many(lons, lats) == expected
    assert any(k is None for k in expected) and any(k is not None for k in expected)


def test_lookup_many_matches_lookup_on_shared_borders(inner_mongolia):
    index = CellIndex([(f.index, f.code, f.geometry) for f in inner_mongolia])
    coords = np.concatenate([shapely.get_coordinates(f.geometry)[::50] for f in inner_mongolia])
    expected = [index.lookup(x, y) for x, y in coords]
    assert index.lookup_many(coords[:, 0], coords[:, 1]) == expected
    assert None not in expected


def test_lookup_many_of_nothing_is_empty(two_squares):
    assert two_squares.lookup_many([], []) == []


def test_lookup_many_keeps_tuple_keys_whole():
    index = CellIndex([((7, "x"), "A", box(0, 0, 1, 1))])
    assert index.lookup_many([0.5, 3], [0.5, 3]) == [(7, "x"), None]


def test_lookup_many_refuses_unequal_lengths(two_squares):
    with pytest.raises(ValueError):
        two_squares.lookup_many([0.5, 0.6], [0.5])


def test_cached_index_builds_once_per_key():
    clear_index_cache()
    built = []

    def build():
        built.append(1)
        return CellIndex([("k", "A", box(0, 0, 1, 1))])

    first = cached_index("map-1", build)
    assert cached_index("map-1", build) is first
    assert len(built) == 1


def test_cached_index_forgets_the_least_recently_used():
    clear_index_cache()
    indexes = {key: CellIndex([(key, "A", box(0, 0, 1, 1))]) for key in "abc"}
    cached_index("a", lambda: indexes["a"], maxsize=2)
    cached_index("b", lambda: indexes["b"], maxsize=2)
    cached_index("a", lambda: indexes["a"], maxsize=2)  # a is now the most recent
    cached_index("c", lambda: indexes["c"], maxsize=2)  # b goes
    fresh = CellIndex([("b", "A", box(0, 0, 1, 1))])
    assert cached_index("b", lambda: fresh, maxsize=2) is fresh
    assert cached_index("c", lambda: fresh, maxsize=2) is indexes["c"]


def test_cached_index_gives_every_thread_the_same_index():
    clear_index_cache()
    results = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(cached_index("shared", lambda: CellIndex([("k", "A", box(0, 0, 1, 1))])))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(r) for r in results}) == 1
