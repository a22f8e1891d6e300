"""A small thread-safe cache of things built once per immutable key (a map version...)."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class BuildOnceCache:
    """Least-recently-used values by key, each built outside the lock when missing.

    Two threads missing the same key may both build it; the first stored is kept and returned
    to both, so callers share one value. Keys must name something immutable.
    """

    def __init__(self):
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], object], maxsize: int):
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        built = build()
        with self._lock:
            value = self._values.setdefault(key, built)
            self._values.move_to_end(key)
            while len(self._values) > max(maxsize, 1):
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
