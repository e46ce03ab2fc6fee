"""Batched generation: concurrent requests share forward passes, each still streamed alone.

Requests wait in one queue. The engine's generation loop takes the oldest, gathers the others
that can share its forward passes (same adapter, same sampling settings) up to a batch size,
and runs them as one left-padded batch. `BatchStream` turns the batch's new token ids, step by
step, into each request's own text deltas, and tells the model which rows are done (their
end-of-sequence token, their own `max_tokens`, or their client gone). Pure: no torch, no model.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
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

    def _arrived_since(self, seen: int) -> bool:
        return self._arrivals != seen

    def _count(self, key: Any) -> int:
        return sum(1 for r in self._waiting if r.key == key)

    def __len__(self) -> int:
        with self._ready:
            return len(self._waiting)


class BatchStream:
    """Token ids of a running batch in; each row's text deltas out, and which rows are done.

    `step(ids)` takes the token each row produced at one decoding step (None for a row no
    longer in the batch); `done()` says which rows need no more steps.
    """

    def __init__(self, requests: Sequence[Pending], decode: Decode, eos_ids: Sequence[int]) -> None:
        self._requests = list(requests)
        self._decode = decode
        self._eos = set(eos_ids)
        self._tokens: list[list[int]] = [[] for _ in self._requests]
        self._shown = ["" for _ in self._requests]
        self._ended = [False for _ in self._requests]

    @property
    def rows(self) -> int:
        return len(self._requests)

    def step(self, ids: Sequence[int | None]) -> None:
        for row, token in enumerate(ids):
            request = self._requests[row]
            if token is None or self._ended[row] or request.cancelled.is_set():
                continue
            if token in self._eos:
                self._end(row)
                continue
            self._tokens[row].append(int(token))
            self._flush(row, final=False)
            if len(self._tokens[row]) >= request.params.max_tokens:
                self._end(row)

    def finish(self) -> None:
        """The batch stopped: end every row still open."""
        for row in range(len(self._requests)):
            if not self._ended[row]:
                self._end(row)

    def done(self) -> list[bool]:
        """Per row: nothing more to generate for it (ended, or its client left)."""
        return [
            ended or request.cancelled.is_set()
            for ended, request in zip(self._ended, self._requests, strict=True)
        ]

    def completion_tokens(self, row: int) -> int:
        return len(self._tokens[row])

    def _end(self, row: int) -> None:
        self._flush(row, final=True)
        self._ended[row] = True

    def _flush(self, row: int, *, final: bool) -> None:
        """Emit the text decoded since the last emit; hold back a character cut in half."""
        text = self._decode(self._tokens[row])
        if not final and text.endswith(REPLACEMENT):
            return
        delta = text[len(self._shown[row]) :]
        if delta:
            self._shown[row] = text
            self._requests[row].emit(delta)
