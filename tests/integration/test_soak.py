"""Soak: 32 gRPC clients at once against the local service for a bounded time.

Every request is answered or refused with RESOURCE_EXHAUSTED (back-pressure), never another
error and never a hang; the serving processes (every replica of the application, Serve's
proxy, the Milvus Lite server) grow by less than 5 % in memory between the end of a warm-up
and the end of the run. `make soak` runs the long variant (RAGTUNE_SOAK_SECONDS).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import grpc
import pytest

from loadgen import Load
from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import local
from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration
CLIENTS = 32
WARM_UP_S = 15.0
SOAK_S = float(os.environ.get("RAGTUNE_SOAK_SECONDS", "45"))
MAX_GROWTH = 0.05
DEADLINE_S = 120.0


def _serving_pids(stack: Settings) -> dict[str, int]:
    """Process name → pid: the application's replicas, Serve's proxies, Milvus Lite."""
    from ray.util.state import list_actors

    pids = {"milvus": int((stack.home / "milvus.pid").read_text())}
    for actor in list_actors(address=stack.dashboard_url, limit=1000, detail=True):
        serving = actor.class_name.startswith(f"ServeReplica:{local.APP_NAME}:")
        if actor.state == "ALIVE" and (serving or actor.class_name == "ProxyActor"):
            pids[f"{actor.class_name}#{actor.pid}"] = int(actor.pid)
    return pids


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def _memory(pids: dict[str, int]) -> dict[str, int]:
    return {name: _rss_bytes(pid) for name, pid in pids.items()}


def test_32_clients_get_answers_or_back_pressure_and_memory_stays_flat(
    stack: Settings, corpus_kb: str, questions: list[dict[str, str | None]]
) -> None:
    """Four questions the corpus answers (each one retrieves, then generates), eight clients
    each; one passage and four tokens per answer keep the two-core machine turning over."""
    pids = _serving_pids(stack)
    assert any(name.startswith("ServeReplica") for name in pids) and "milvus" in pids
    answerable = [str(q["question"]) for q in questions if q.get("answer")][:4]
    loads = [
        Load(
            stack.address,
            pb.QueryRequest(knowledge_base=corpus_kb, question=question, max_tokens=4, top_k=1),
            clients=CLIENTS // len(answerable),
            deadline_s=DEADLINE_S,
        )
        for question in answerable
    ]
    for load in loads:
        load.__enter__()
    try:
        time.sleep(WARM_UP_S)
        warm = _memory(pids)
        warm_count = sum(len(load.outcomes) for load in loads)
        time.sleep(SOAK_S)
        end = _memory(pids)
    finally:
        for load in loads:
            load.__exit__()
    outcomes = [outcome for load in loads for outcome in load.outcomes]
    admitted = sorted(o.seconds for o in outcomes if o.code == grpc.StatusCode.OK)
    grounded = sum(bool(o.documents) for o in outcomes)
    refused = [o for o in outcomes if o.code == grpc.StatusCode.RESOURCE_EXHAUSTED]
    expected = (grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED)
    others = [o for o in outcomes if o.code not in expected]
    growth = sum(end.values()) / sum(warm.values()) - 1
    p50 = statistics.median(admitted)
    p99 = admitted[min(len(admitted) - 1, int(0.99 * len(admitted)))]
    print(
        f"\nsoak {SOAK_S:.0f} s, {CLIENTS} clients: {len(admitted)} answered "
        f"({len(outcomes) - warm_count} after the warm-up, {grounded} citing), {len(refused)} "
        "refused "
        f"(RESOURCE_EXHAUSTED), p50 {p50:.2f} s p99 {p99:.2f} s; serving memory "
        f"{sum(warm.values()) / 2**20:.0f} → {sum(end.values()) / 2**20:.0f} MiB "
        f"({growth:+.2%})"
    )
    for name in sorted(warm):
        print(f"  {name}: {warm[name] / 2**20:.0f} → {end[name] / 2**20:.0f} MiB")
    # A request not answered within DEADLINE_S ends DEADLINE_EXCEEDED, one of the `others`:
    # that is the bound on admitted latency.
    assert others == [], others[:5]
    assert len(admitted) > warm_count  # still answering after the warm-up
    assert grounded == len(admitted)  # every answer went through retrieval and generation
    assert growth < MAX_GROWTH, f"serving memory grew {growth:.1%}"
