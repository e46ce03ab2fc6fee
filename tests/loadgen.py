"""Clients asking the real service in a loop, for the fault, re-index and soak tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import grpc

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import ClientError, RagClient


@dataclass(frozen=True, slots=True)
class Outcome:
    code: grpc.StatusCode
    started: float  # time.monotonic() when it was sent
    seconds: float
    message: str = ""
    documents: tuple[str, ...] = ()


@dataclass
class Load:
    """`clients` threads, each with its own channel, asking `request` until the block ends;
    every outcome, in the order they came."""

    address: str
    request: pb.QueryRequest
    clients: int
    token: str | None = None
    deadline_s: float = 300.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._ask) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=600)

    @property
    def codes(self) -> list[grpc.StatusCode]:
        return [outcome.code for outcome in self.outcomes]

    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.code != grpc.StatusCode.OK]

    def _ask(self) -> None:
        with RagClient(self.address, timeout_s=self.deadline_s, token=self.token) as rag:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    reply = rag.query(self.request)
                except ClientError as error:
                    elapsed = time.monotonic() - started
                    self.outcomes.append(Outcome(error.code, started, elapsed, error.message))
                    continue
                cited = tuple(c.document_id for c in reply.citations)
                self.outcomes.append(
                    Outcome(
                        grpc.StatusCode.OK, started, time.monotonic() - started, documents=cited
                    )
                )
