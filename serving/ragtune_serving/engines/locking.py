"""A keyed shared/exclusive lock for threads: many generations through one adapter at once, or
one adapter change alone.

Loading a LoRA adapter rewires the model's layers, and selecting one for a request switches which
adapter every layer applies: a forward pass running meanwhile would see the wrong weights.
Generations take the lock shared under a key (the adapter they run through, or None for the base
model); holders of one key run together, another key waits until they are done. Adapter loads
take it exclusive. Waiting is fair both ways: a waiting change, or a waiting generation under
another key, holds back new arrivals, so a steady stream of one kind cannot starve the other.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class SharedExclusiveLock:
    """Holders of one key share it; a writer has it alone and goes before later arrivals."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._key: Hashable = None  # the key the current readers hold it under
        self._writing = False
        self._writers_waiting = 0
        self._readers_waiting: Counter[Hashable] = Counter()
        self._arrivals: dict[int, Hashable] = {}  # waiting readers: ticket → key, oldest first
        self._tickets = 0

    @property
    def key(self) -> Hashable:
        """The key the lock is held under now (None when it is free or held by the base)."""
        with self._condition:
            return self._key if self._readers else None

    @property
    def exclusive_waiting(self) -> bool:
        """Someone waits to hold it alone: holders should let go soon."""
        with self._condition:
            return bool(self._writers_waiting)

    def _may_read(self, key: Hashable) -> bool:
        if self._writing or self._writers_waiting:
            return False
        if not self._readers:  # free: the key that has waited longest goes first
            return key == next(iter(self._arrivals.values()), key)
        others_waiting = sum(n for k, n in self._readers_waiting.items() if k != self._key)
        return key == self._key and not others_waiting

    @contextmanager
    def shared(self, key: Hashable = None) -> Iterator[None]:
        """Hold the lock under `key`, alongside other holders of the same key."""
        with self._condition:
            self._tickets += 1
            ticket = self._tickets
            self._arrivals[ticket] = key
            self._readers_waiting[key] += 1
            try:
                self._condition.wait_for(lambda: self._may_read(key))
            finally:
                del self._arrivals[ticket]
                self._readers_waiting[key] -= 1
                if not self._readers_waiting[key]:
                    del self._readers_waiting[key]
            self._readers += 1
            self._key = key
            self._condition.notify_all()  # others waiting under this key may now join
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock alone, once every current holder has let go."""
        with self._condition:
            self._writers_waiting += 1
            try:
                self._condition.wait_for(lambda: not self._writing and not self._readers)
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()
