"""Prometheus metrics of the serving replicas: names, buckets, bounded labels, recording.

Every Serve replica is its own process. Each records into prometheus-client's multiprocess
files under `PROMETHEUS_MULTIPROC_DIR`, which the Serve config sets for the application's
processes only; one exporter per node (`ragtune metrics-exporter`, metricsexport.py) serves
their sum on serveconfig.METRICS_PORT. Where the variable is unset (unit tests, one-off
commands) the metrics live in this process's memory.

Label values are bounded: a knowledge base or adapter label names one this replica knows
(the request got past the name checks), at most MAX_LABEL_VALUES of each, else OTHER.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from ragtune_serving.rag.records import KnowledgeBaseRef, Timing
from ragtune_serving.serveconfig import MULTIPROC_ENV

# 1 ms (a GPU embedding, an indexed search) to 160 s (a long CPU generation), ~2.5x apart.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0,
)  # fmt: skip
FRESHNESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
STAGES = ("embed", "rewrite", "retrieve", "rerank", "generate", "total")
MAX_LABEL_VALUES = 500
OTHER = "_other"  # a knowledge base or adapter past the label budget
UNKNOWN = "_unknown"  # a request refused before its knowledge base was known to exist
NO_ADAPTER = "none"

if os.environ.get(MULTIPROC_ENV):
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

KB_LABELS = ("namespace", "knowledge_base")
STAGE_LATENCY = Histogram(
    "ragtune_stage_latency_seconds",
    "Seconds per stage of answering a question (stage total: the whole request).",
    [*KB_LABELS, "adapter", "stage"],
    buckets=LATENCY_BUCKETS,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "ragtune_time_to_first_token_seconds",
    "Seconds from a question's arrival to its first generated token.",
    [*KB_LABELS, "adapter"],
    buckets=LATENCY_BUCKETS,
)
GENERATED_TOKENS = Counter(
    "ragtune_generated_tokens", "Tokens generated in answers.", [*KB_LABELS, "adapter"]
)
REQUESTS = Counter(
    "ragtune_requests",
    "RagService calls answered, by method and gRPC status code.",
    [*KB_LABELS, "method", "code"],
)
INGESTED_CHUNKS = Counter(
    "ragtune_ingested_chunks", "Chunks written to a knowledge base's index.", KB_LABELS
)
INDEX_FRESHNESS = Histogram(
    "ragtune_index_freshness_seconds",
    "Seconds from a document change (its ingest request, or the change time the request "
    "carries) until its chunks are queryable.",
    KB_LABELS,
    buckets=FRESHNESS_BUCKETS,
)
QUEUE_DEPTH = Gauge(
    "ragtune_queue_depth",
    "Requests admitted to a deployment's replicas and not finished (waiting or running).",
    ["deployment"],
    multiprocess_mode="livesum",
)


class LabelBudget:
    """At most `limit` distinct values of one label in this process; later ones are OTHER."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, value: str) -> str:
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
            return value


_knowledge_bases = LabelBudget()
_adapters = LabelBudget()


def kb_labels(ref: KnowledgeBaseRef | None) -> tuple[str, str]:
    """(namespace, knowledge_base) label values; UNKNOWN for a request refused before its
    knowledge base was known to exist (its name is the caller's, unbounded)."""
    if ref is None:
        return UNKNOWN, UNKNOWN
    if _knowledge_bases.admit(str(ref)) == OTHER:
        return OTHER, OTHER
    return ref.namespace, ref.name


def adapter_label(adapter: str | None) -> str:
    """The adapter label value of a served (already checked) adapter name, or NO_ADAPTER."""
    return _adapters.admit(adapter) if adapter else NO_ADAPTER


def observe_answer(
    ref: KnowledgeBaseRef, adapter: str | None, timing: Timing, completion_tokens: int
) -> None:
    """One answered question: seconds per stage that ran, time to first token, tokens."""
    labels = (*kb_labels(ref), adapter_label(adapter))
    stages = timing.stages()
    for stage in STAGES:
        if stages[stage] > 0:
            STAGE_LATENCY.labels(*labels, stage).observe(stages[stage] / 1000)
    if timing.time_to_first_token_ms > 0:
        TIME_TO_FIRST_TOKEN.labels(*labels).observe(timing.time_to_first_token_ms / 1000)
    if completion_tokens:
        GENERATED_TOKENS.labels(*labels).inc(completion_tokens)


def count_request(ref: KnowledgeBaseRef | None, method: str, code: str) -> None:
    """One RagService call finished with status `code` (OK, NOT_FOUND, ...)."""
    REQUESTS.labels(*kb_labels(ref), method, code).inc()


def observe_ingest(ref: KnowledgeBaseRef, chunks: int, freshness_s: float) -> None:
    """Chunks written by one ingest, queryable `freshness_s` after the change."""
    labels = kb_labels(ref)
    if chunks:
        INGESTED_CHUNKS.labels(*labels).inc(chunks)
    INDEX_FRESHNESS.labels(*labels).observe(max(freshness_s, 0.0))


@contextmanager
def in_flight(deployment: str) -> Iterator[None]:
    """Count a request in `deployment`'s queue depth while the block runs."""
    gauge = QUEUE_DEPTH.labels(deployment)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
