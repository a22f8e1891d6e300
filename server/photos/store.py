"""Keep photo bytes by SHA-256: the PhotoStore interface and its filesystem implementation."""

import fcntl
import hashlib
import importlib
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

DERIVATIVE_KINDS = frozenset({"thumb", "public"})
FILE_MODE = 0o640  # owner writes, the web server's group may read; nobody else

_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
# Whose resumable upload it is (a user id): part of a file name, so nothing but these.
_OWNER_PATTERN = re.compile(r"[0-9A-Za-z_-]{1,64}")


class HashMismatch(ValueError):
    """The bytes received do not hash to the name they were sent under."""

    def __init__(self, expected, actual):
        super().__init__(f"the bytes hash to {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


class OffsetMismatch(ValueError):
    """A chunk of a resumable upload does not start where the held bytes end."""

    def __init__(self, expected):
        super().__init__(f"the upload continues at offset {expected}")
        self.expected = expected


def sha256_hex(data):
    """Return the lowercase hex SHA-256 of data."""
    return hashlib.sha256(data).hexdigest()


def check_sha256(sha256):
    """Return sha256 if it is 64 lowercase hex digits; raise ValueError otherwise."""
    if not isinstance(sha256, str) or not _SHA256_PATTERN.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r:.80}")
    return sha256


def check_owner(owner):
    """Return owner as text if it can key a partial upload; raise ValueError otherwise."""
    text = str(owner) if isinstance(owner, int) and not isinstance(owner, bool) else owner
    if not isinstance(text, str) or not _OWNER_PATTERN.fullmatch(text):
        raise ValueError(f"not an upload owner: {owner!r:.80}")
    return text


def check_kind(kind):
    """Return kind if it names a derivative; raise ValueError otherwise."""
    if kind not in DERIVATIVE_KINDS:
        raise ValueError(f"unknown derivative kind: {kind!r:.40}")
    return kind


@runtime_checkable
class PhotoStore(Protocol):
    """Where photo bytes live; a missing photo raises FileNotFoundError on open."""

    def exists(self, sha256: str) -> bool:
        """Tell whether the original is stored."""

    def put(self, sha256: str, data: bytes) -> bool:
        """Store the original atomically; return False if it was already there."""

    def open(self, sha256: str) -> BinaryIO:
        """Open the original for reading."""

    def put_derivative(self, sha256: str, kind: str, data: bytes) -> None:
        """Store (or replace) a derivative JPEG."""

    def open_derivative(self, sha256: str, kind: str) -> BinaryIO:
        """Open a derivative for reading."""

    def has_derivative(self, sha256: str, kind: str) -> bool:
        """Tell whether a derivative is stored."""

    # Resumable uploads belong to one owner (a user id): nobody else sees or touches them.

    def partial_size(self, sha256: str, owner: str | int) -> int:
        """Return how many bytes of the owner's resumable upload are held (0 if none)."""

    def append_partial(self, sha256: str, owner: str | int, offset: int, chunk: bytes) -> int:
        """Append a chunk that starts at offset; return the new size."""

    def finish_partial(self, sha256: str, owner: str | int) -> bytes:
        """Return the assembled bytes once they hash to sha256."""

    def discard_partial(self, sha256: str, owner: str | int) -> None:
        """Forget a resumable upload."""

    def prune_partials(self, older_than: float) -> int:
        """Delete the partial uploads last written before older_than (a Unix time) and the
        empty ones; return how many were deleted."""


def _fsync_dir(path):
    """Flush a directory entry so a rename survives a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_all(fd):
    """Read a whole file from its descriptor, whatever its current position."""
    parts, offset = [], 0
    while chunk := os.pread(fd, 1 << 24, offset):
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


class FilesystemPhotoStore:
    """Photos as files under one root, written atomically, named by their SHA-256."""

    def __init__(self, root):
        self.root = Path(root)

    def __repr__(self):
        return f"FilesystemPhotoStore({str(self.root)!r})"

    # Paths: two levels of fan-out keep directories small at ~10M photos a year.

    def original_path(self, sha256):
        """Return where the original of sha256 lives."""
        check_sha256(sha256)
        return self.root / "originals" / sha256[:2] / sha256[2:4] / sha256

    def derivative_path(self, sha256, kind):
        """Return where a derivative of sha256 lives."""
        check_sha256(sha256)
        return self.root / "derived" / check_kind(kind) / sha256[:2] / f"{sha256}.jpg"

    def partial_path(self, sha256, owner):
        """Return where the owner's unfinished upload of sha256 lives."""
        check_sha256(sha256)
        return self.root / "partial" / f"{sha256}.{check_owner(owner)}.part"

    def _write_temp(self, directory, data):
        """Write data to a synced temporary file in directory and return its path."""
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fchmod(handle.fileno(), FILE_MODE)
                os.fsync(handle.fileno())
        except BaseException:
            os.unlink(temp)
            raise
        return temp

    # Originals

    def exists(self, sha256):
        """Tell whether the original is stored."""
        return self.original_path(sha256).is_file()

    def put(self, sha256, data):
        """Store the original atomically; return False, writing nothing, if it was already there."""
        path = self.original_path(sha256)
        if path.is_file():
            return False
        temp = self._write_temp(path.parent, data)
        try:
            # link() fails if the name exists, so of two concurrent uploads exactly one wins.
            os.link(temp, path)
        except FileExistsError:
            return False
        except OSError:
            # Some filesystems have no hard links; replace() is atomic too, the bytes are equal.
            os.replace(temp, path)
            _fsync_dir(path.parent)
            return True
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        _fsync_dir(path.parent)
        return True

    def open(self, sha256):
        """Open the original for reading."""
        return open(self.original_path(sha256), "rb")

    # Derivatives

    def put_derivative(self, sha256, kind, data):
        """Store (or replace) a derivative JPEG atomically."""
        path = self.derivative_path(sha256, kind)
        os.replace(self._write_temp(path.parent, data), path)

    def open_derivative(self, sha256, kind):
        """Open a derivative for reading."""
        return open(self.derivative_path(sha256, kind), "rb")

    def has_derivative(self, sha256, kind):
        """Tell whether a derivative is stored."""
        return self.derivative_path(sha256, kind).is_file()

    # Resumable uploads

    @contextmanager
    def _locked(self, path, create):
        """Yield the descriptor of a partial file under an exclusive lock, or None if absent.

        flock serialises appends from several worker processes on this host. The lock is
        taken on the file that is still at path: one pruned or finished meanwhile is not it.
        """
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(path, flags, FILE_MODE)
            except FileNotFoundError:
                yield None
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    current = os.stat(path).st_ino
                except FileNotFoundError:
                    current = None
                if current == os.fstat(fd).st_ino:
                    yield fd
                    return
            finally:
                os.close(fd)
            if not create:
                yield None
                return

    def partial_size(self, sha256, owner):
        """Return how many bytes of the owner's resumable upload are held (0 if none)."""
        try:
            return self.partial_path(sha256, owner).stat().st_size
        except FileNotFoundError:
            return 0

    def append_partial(self, sha256, owner, offset, chunk):
        """Append a chunk at offset; raise OffsetMismatch unless offset is the size held."""
        with self._locked(self.partial_path(sha256, owner), create=True) as fd:
            size = os.fstat(fd).st_size
            if offset != size:
                raise OffsetMismatch(expected=size)
            view = memoryview(chunk)
            while view:
                written = os.pwrite(fd, view, size)
                size += written
                view = view[written:]
            # No fsync per chunk: finish_partial re-hashes everything, so bytes lost in a crash
            # show up as a short or mismatching upload, never as a stored photo.
            return size

    def finish_partial(self, sha256, owner):
        """Return the assembled bytes if they hash to sha256; otherwise discard them and raise."""
        path = self.partial_path(sha256, owner)
        with self._locked(path, create=False) as fd:
            if fd is None:
                raise FileNotFoundError(f"no upload in progress for {sha256}")
            data = _read_all(fd)
            actual = sha256_hex(data)
            if actual != sha256:
                path.unlink(missing_ok=True)
                raise HashMismatch(expected=sha256, actual=actual)
            # Kept until discard_partial: the caller stores the photo first, then discards.
            return data

    def discard_partial(self, sha256, owner):
        """Forget the owner's resumable upload."""
        path = self.partial_path(sha256, owner)
        with self._locked(path, create=False) as fd:
            if fd is not None:
                path.unlink(missing_ok=True)

    def prune_partials(self, older_than):
        """Delete the partial uploads last written before older_than (a Unix time) and the
        empty ones (a refused first chunk leaves one); return how many were deleted."""
        deleted = 0
        for path in sorted((self.root / "partial").glob("*.part")):
            with self._locked(path, create=False) as fd:
                if fd is None:
                    continue
                facts = os.fstat(fd)
                if facts.st_size == 0 or facts.st_mtime < older_than:
                    path.unlink(missing_ok=True)
                    deleted += 1
        return deleted


def make_photo_store(config):
    """Build the store that config["PHOTO_STORE"] names, once per app.

    "filesystem" (the default) keeps photos under PHOTO_DIR; "package.module:factory" names
    a callable that takes the config and returns a PhotoStore (an S3-compatible store).
    """
    name = config.get("PHOTO_STORE") or "filesystem"
    if name == "filesystem":
        store = FilesystemPhotoStore(config["PHOTO_DIR"])
    else:
        module, _, factory = name.partition(":")
        store = getattr(importlib.import_module(module), factory)(config)
    if not isinstance(store, PhotoStore):
        raise TypeError(f"PHOTO_STORE={name!r} did not make a PhotoStore: {store!r:.80}")
    return store
