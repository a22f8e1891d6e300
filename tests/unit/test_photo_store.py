"""Content-addressed photo storage on the filesystem, with resumable uploads."""

import hashlib
import threading

import pytest

from server.photos.store import (
    FilesystemPhotoStore,
    HashMismatch,
    OffsetMismatch,
    PhotoStore,
    sha256_hex,
)

DATA = b"\xff\xd8 not really a photo, but bytes are bytes " * 50
SHA = hashlib.sha256(DATA).hexdigest()
OTHER_DATA = b"another photo held in the store"
OTHER_SHA = hashlib.sha256(OTHER_DATA).hexdigest()
OWNER = 7  # a user id: each user's resumable uploads are their own
BAD_NAMES = ["../etc/passwd", SHA.upper(), SHA[:63], SHA + "0", f"../{SHA[3:]}", "", None]


@pytest.fixture
def store(tmp_path):
    return FilesystemPhotoStore(tmp_path / "photos")


def files_under(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def test_sha256_hex_is_lowercase_hex():
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_filesystem_store_implements_the_interface(store):
    assert isinstance(store, PhotoStore)


def test_put_stores_new_bytes(store):
    assert store.put(SHA, DATA) is True
    assert store.exists(SHA)
    with store.open(SHA) as handle:
        assert handle.read() == DATA


def test_put_twice_is_a_no_op(store):
    store.put(SHA, DATA)
    inode = store.original_path(SHA).stat().st_ino
    assert store.put(SHA, b"other bytes under the same name") is False
    assert store.original_path(SHA).stat().st_ino == inode
    assert store.original_path(SHA).read_bytes() == DATA


def test_originals_and_derivatives_are_fanned_out(store):
    store.put(SHA, DATA)
    store.put_derivative(SHA, "thumb", b"thumb")
    store.put_derivative(SHA, "public", b"public")
    store.append_partial(SHA, OWNER, 0, b"x")
    assert files_under(store.root) == sorted([
        f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}",
        f"derived/thumb/{SHA[:2]}/{SHA}.jpg",
        f"derived/public/{SHA[:2]}/{SHA}.jpg",
        f"partial/{SHA}.{OWNER}.part",
    ])


def test_put_leaves_no_temporary_files(store):
    store.put(SHA, DATA)
    store.put(SHA, DATA)
    assert files_under(store.root) == [f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}"]


def test_concurrent_puts_store_once(store):
    barrier = threading.Barrier(8)
    results = []

    def put():
        barrier.wait()
        results.append(store.put(SHA, DATA))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert store.original_path(SHA).read_bytes() == DATA


def test_open_missing_photo_raises_file_not_found(store, tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        store.open(SHA)
    assert caught.value.filename == str(store.original_path(SHA))
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize("call", [
    lambda s, n: s.exists(n),
    lambda s, n: s.put(n, DATA),
    lambda s, n: s.open(n),
    lambda s, n: s.put_derivative(n, "thumb", DATA),
    lambda s, n: s.open_derivative(n, "thumb"),
    lambda s, n: s.has_derivative(n, "thumb"),
    lambda s, n: s.partial_size(n, OWNER),
    lambda s, n: s.append_partial(n, OWNER, 0, DATA),
    lambda s, n: s.finish_partial(n, OWNER),
    lambda s, n: s.discard_partial(n, OWNER),
], ids=["exists", "put", "open", "put_derivative", "open_derivative", "has_derivative",
        "partial_size", "append_partial", "finish_partial", "discard_partial"])
def test_bad_hash_names_are_rejected(store, tmp_path, call, name):
    with pytest.raises(ValueError):
        call(store, name)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("kind", ["original", "../thumb", "THUMB", ""])
def test_unknown_derivative_kind_is_rejected_and_nothing_is_written(store, tmp_path, kind):
    with pytest.raises(ValueError, match="unknown derivative kind"):
        store.put_derivative(SHA, kind, b"x")
    assert files_under(tmp_path) == []


def test_derivative_round_trip(store):
    assert not store.has_derivative(SHA, "thumb")
    store.put_derivative(SHA, "thumb", b"first")
    store.put_derivative(SHA, "thumb", b"second")
    assert store.has_derivative(SHA, "thumb")
    assert not store.has_derivative(SHA, "public")
    with store.open_derivative(SHA, "thumb") as handle:
        assert handle.read() == b"second"


# Resumable uploads


def chunks():
    third = len(DATA) // 3
    return DATA[:third], DATA[third:2 * third], DATA[2 * third:]


def test_partial_size_is_zero_before_any_chunk(store):
    assert store.partial_size(SHA, OWNER) == 0


def test_three_chunks_assemble_the_photo(store):
    offset = 0
    for chunk in chunks():
        offset = store.append_partial(SHA, OWNER, offset, chunk)
        assert store.partial_size(SHA, OWNER) == offset
    assert offset == len(DATA)
    assert store.finish_partial(SHA, OWNER) == DATA


def test_wrong_offset_reports_the_size_held(store):
    first, second, _ = chunks()
    store.append_partial(SHA, OWNER, 0, first)
    with pytest.raises(OffsetMismatch) as caught:
        store.append_partial(SHA, OWNER, len(first) + len(second), second)
    assert caught.value.expected == len(first)
    assert store.partial_size(SHA, OWNER) == len(first)


def test_replayed_chunk_is_refused_and_changes_nothing(store):
    first, second, _ = chunks()
    store.append_partial(SHA, OWNER, 0, first)
    store.append_partial(SHA, OWNER, len(first), second)
    with pytest.raises(OffsetMismatch) as caught:
        store.append_partial(SHA, OWNER, len(first), second)
    assert caught.value.expected == len(first) + len(second)


def test_first_chunk_must_start_at_zero(store):
    with pytest.raises(OffsetMismatch) as caught:
        store.append_partial(SHA, OWNER, 10, DATA)
    assert caught.value.expected == 0


def test_corrupted_partial_raises_hash_mismatch_and_is_discarded(store):
    first, second, third = chunks()
    store.append_partial(SHA, OWNER, 0, first)
    store.append_partial(SHA, OWNER, len(first), b"X" * len(second))
    store.append_partial(SHA, OWNER, len(first) + len(second), third)
    with pytest.raises(HashMismatch) as caught:
        store.finish_partial(SHA, OWNER)
    assert caught.value.expected == SHA
    assert caught.value.actual == sha256_hex(first + b"X" * len(second) + third)
    assert store.partial_size(SHA, OWNER) == 0


def test_finished_partial_stays_until_discarded(store):
    store.append_partial(SHA, OWNER, 0, DATA)
    store.finish_partial(SHA, OWNER)
    assert store.partial_size(SHA, OWNER) == len(DATA)
    store.discard_partial(SHA, OWNER)
    assert store.partial_size(SHA, OWNER) == 0


def test_finish_without_upload_raises_file_not_found_and_creates_nothing(store, tmp_path):
    with pytest.raises(FileNotFoundError, match="no upload in progress"):
        store.finish_partial(SHA, OWNER)
    assert files_under(tmp_path) == []


def test_discard_without_upload_is_harmless(store):
    store.put(OTHER_SHA, OTHER_DATA)
    before = files_under(store.root)
    store.discard_partial(SHA, OWNER)
    assert store.partial_size(SHA, OWNER) == 0
    assert files_under(store.root) == before


def test_each_owner_has_their_own_partial_upload(store):
    first, second, _ = chunks()
    store.append_partial(SHA, OWNER, 0, first)
    assert store.partial_size(SHA, 8) == 0
    assert store.append_partial(SHA, 8, 0, b"X" * 10) == 10
    with pytest.raises(HashMismatch):
        store.finish_partial(SHA, 8)
    assert (store.partial_size(SHA, OWNER), store.partial_size(SHA, 8)) == (len(first), 0)
    assert store.append_partial(SHA, OWNER, len(first), second) == len(first) + len(second)


@pytest.mark.parametrize("owner", ["../7", "7/..", "", "a b", None, True, 1.5])
def test_bad_owners_are_rejected(store, tmp_path, owner):
    with pytest.raises(ValueError, match="not an upload owner"):
        store.append_partial(SHA, owner, 0, DATA)
    assert files_under(tmp_path) == []


def test_prune_deletes_stale_and_empty_partials_and_keeps_fresh_ones(store):
    import os

    store.append_partial(SHA, OWNER, 0, DATA[:10])            # fresh: kept
    store.append_partial(SHA, 8, 0, DATA[:10])                # untouched for long: deleted
    os.utime(store.partial_path(SHA, 8), (1_000_000, 1_000_000))
    with pytest.raises(OffsetMismatch):                       # a refused first chunk: empty
        store.append_partial(OTHER_SHA, OWNER, 5, OTHER_DATA)
    assert store.prune_partials(older_than=2_000_000) == 2
    assert files_under(store.root) == [f"partial/{SHA}.{OWNER}.part"]
    assert store.partial_size(SHA, OWNER) == 10



def store_under_root(config):
    """A factory as PHOTO_STORE names one: an S3-compatible store plugs in the same way."""
    return FilesystemPhotoStore(config["ROOT"])


def test_the_configured_store_is_built_by_its_factory(tmp_path):
    from server.photos import make_photo_store

    built = make_photo_store({"PHOTO_STORE": f"{__name__}:store_under_root", "ROOT": tmp_path})
    assert isinstance(built, FilesystemPhotoStore) and built.root == tmp_path
    default = make_photo_store({"PHOTO_DIR": str(tmp_path / "photos")})
    assert default.root == tmp_path / "photos"


def test_a_factory_that_makes_no_photo_store_is_refused(tmp_path):
    from server.photos import make_photo_store

    with pytest.raises(TypeError, match="did not make a PhotoStore"):
        make_photo_store({"PHOTO_STORE": "builtins:dict"})
