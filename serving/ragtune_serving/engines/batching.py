"""Batched generation: concurrent requests share forward passes, each still streamed alone.

Requests wait in one queue. The engine's generation loop takes the oldest, gathers the others
that can share its forward passes (same adapter, same sampling settings) up to a batch size,
and starts them as one batch; while it runs, requests of its key join it as rows free up
(continuous batching), unless a request of another key has waited longer. `RowStream` turns one
row's new token ids into its request's text deltas and says when the row is done (its
end-of-sequence token, its own `max_tokens`, or its client gone). Pure: no torch, no model.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragtune_serving.engines.base import SamplingParams

Decode = Callable[[list[int]], str]
Emit = Callable[[str], None]
REPLACEMENT = "\ufffd"  # a multi-byte character cut between tokens decodes to this
MAX_WAITS = 8  # a batch waits at most this many wait_s windows for a burst to arrive


@dataclass(eq=False)
class Pending:
    """One request waiting for (or in) a batch: its prompt, how to sample, where text goes."""

    prompt: list[int]
    params: SamplingParams
    adapter: str | None
    emit: Emit
    on_end: Callable[[int, BaseException | None], None]
    """Called once when the request is over: its completion tokens, or the error."""
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def key(self) -> tuple[str | None, bool, float, float]:
        """Requests with equal keys can share a batch: one adapter, one way of sampling."""
        greedy = self.params.temperature <= 0
        temperature = 0.0 if greedy else self.params.temperature
        return (self.adapter, greedy, temperature, 1.0 if greedy else self.params.top_p)


class RequestQueue:
    """Requests waiting for the generation loop, taken as batches of one key, oldest first."""

    def __init__(self, max_batch_size: int, wait_s: float) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        self._max = max_batch_size
        self._wait_s = wait_s
        self._waiting: deque[Pending] = deque()
        self._arrivals = 0
        self._ready = threading.Condition()

    @property
    def max_batch_size(self) -> int:
        return self._max

    def put(self, request: Pending) -> None:
        with self._ready:
            self._waiting.append(request)
            self._arrivals += 1
            self._ready.notify()

    def take(self, timeout_s: float | None = None) -> list[Pending]:
        """The next batch: the oldest request and, in arrival order, those sharing its key. With
        fewer than a full batch waiting it waits for more while they keep arriving (each within
        `wait_s` of the last). Requests whose client left while waiting are dropped. [] when
        nothing came within `timeout_s`."""
        with self._ready:
            if not self._ready.wait_for(lambda: bool(self._waiting), timeout_s):
                return []
            first = self._waiting[0]
            # A burst arrives one request at a time: keep waiting while they keep coming
            # (each arrival within wait_s of the last), up to MAX_WAITS windows in all.
            deadline = time.monotonic() + self._wait_s * MAX_WAITS
            while self._wait_s > 0 and self._count(first.key) < self._max:
                window = min(self._wait_s, deadline - time.monotonic())
                if window <= 0 or not self._ready.wait_for(
                    functools.partial(self._arrived_since, self._arrivals), window
                ):
                    break
            batch: list[Pending] = []
            for request in list(self._waiting):
                if request.key == first.key and len(batch) < self._max:
                    self._waiting.remove(request)
                    if not request.cancelled.is_set():
                        batch.append(request)
            return batch

    def take_joining(self, key: Any, room: int) -> list[Pending]:
        """Up to `room` waiting requests of `key` to join a running batch, without waiting; none
        while the oldest waiting request has another key (the running batch drains for it)."""
        with self._ready:
            joining: list[Pending] = []
            while self._waiting and len(joining) < room and self._waiting[0].key == key:
                request = self._waiting.popleft()
                if not request.cancelled.is_set():
                    joining.append(request)
            return joining

    def _arrived_since(self, seen: int) -> bool:
        return self._arrivals != seen

    def _count(self, key: Any) -> int:
        return sum(1 for r in self._waiting if r.key == key)

    def __len__(self) -> int:
        with self._ready:
            return len(self._waiting)


class RowStream:
    """One request's row in a running batch: token ids in, the request's text deltas out."""

    def __init__(self, request: Pending, decode: Decode, eos_ids: frozenset[int]) -> None:
        self.request = request
        self._decode = decode
        self._eos = eos_ids
        self._tokens: list[int] = []
        self._shown = ""
        self._ended = False
        self._told = False

    @property
    def done(self) -> bool:
        """Nothing more to generate for it: it ended, or its client left."""
        return self._ended or self.request.cancelled.is_set()

    @property
    def completion_tokens(self) -> int:
        return len(self._tokens)

    @property
    def room_needed(self) -> int:
        """Tokens it may still take in the KV cache."""
        return self.request.params.max_tokens - len(self._tokens)

    def push(self, token: int) -> None:
        """The token the row produced at one step."""
        if self.done:
            return
        if token in self._eos:
            self._ended = True
            self._flush(final=True)
            return
        self._tokens.append(int(token))
        self._flush(final=False)
        if len(self._tokens) >= self.request.params.max_tokens:
            self._ended = True
            self._flush(final=True)

    def close(self, error: BaseException | None = None) -> None:
        """The row leaves the batch: its request hears its end (or the error), once."""
        if self._told:
            return
        self._told = True
        if error is None:
            self._flush(final=True)
        self.request.on_end(len(self._tokens), error)

    def _flush(self, *, final: bool) -> None:
        """Emit the text decoded since the last emit; hold back a character cut in half."""
        text = self._decode(self._tokens)
        if not final and text.endswith(REPLACEMENT):
            return
        delta = text[len(self._shown) :]
        if delta:
            self._shown = text
            self.request.emit(delta)
