"""Serving metrics, scraped by a real Prometheus from a real local run under a short load:
every expression of the shipped Grafana dashboard has data, and the p99 Prometheus computes
from the histogram agrees with the p99 WatchLatency sends over gRPC."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from prometheus_server import dashboard_expressions, finite, prometheus
from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.metrics import LATENCY_BUCKETS
from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "helm/ragtune/dashboards/ragtune-serving.json"
NAMESPACE, NAME = "metrics", "probe"
KB = f"{NAMESPACE}/{NAME}"
DOCS = {
    "dock.md": "Parcels for the Kestrel Harbor office leave from dock 7 every weekday at 16:00.",
    "desk.md": "The support desk is on extension 4410 and opens at 08:30.",
    "leave.md": "Staff receive 27 days of paid leave per year.",
}
QUESTIONS = [
    "Which dock do parcels leave from?",
    "When do parcels leave?",
    "What is the support desk's extension?",
    "When does the support desk open?",
    "How many days of paid leave do staff receive?",
]


def _documents(**changed: str) -> list[pb.Document]:
    texts = {**DOCS, **changed}
    return [pb.Document(id=name, content=text.encode()) for name, text in texts.items()]


def _bucket(seconds: float) -> tuple[float, float]:
    """The histogram bucket (lower, upper] holding `seconds`."""
    lower = 0.0
    for upper in LATENCY_BUCKETS:
        if seconds <= upper:
            return lower, upper
        lower = upper
    return lower, float("inf")


def test_every_dashboard_panel_has_data_and_p99_agrees_with_watch_latency(
    stack: Settings, client: RagClient, tmp_path: Path
) -> None:
    with prometheus([f"127.0.0.1:{stack.metrics_port}"], tmp_path / "prometheus") as server:
        client.ingest(pb.IngestRequest(knowledge_base=KB, documents=_documents()))
        server.wait_scraped()
        answered = 0
        for question in QUESTIONS:
            client.query(pb.QueryRequest(knowledge_base=KB, question=question, max_tokens=24))
            answered += 1
        request = pb.QueryRequest(knowledge_base=KB, question=QUESTIONS[0], max_tokens=24)
        assert any(r.HasField("final") for r in client.query_stream(request))
        answered += 1
        # Refused calls are counted by code; an unknown knowledge base mints no label value.
        with pytest.raises(ClientError) as refused:
            client.query(
                pb.QueryRequest(knowledge_base=KB, question="x", adapter="no-such-adapter")
            )
        assert refused.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(ClientError):
            client.query(pb.QueryRequest(knowledge_base=f"{NAMESPACE}/nope", question="x"))
        # A document change, re-ingested: one more freshness sample.
        changed = _documents(**{"desk.md": "The support desk is on extension 5520."})
        client.ingest(pb.IngestRequest(knowledge_base=KB, documents=changed))
        (watched,) = client.watch_latency(pb.WatchLatencyRequest(knowledge_base=KB, max_updates=1))
        server.wait_scraped(3)

        for title, expression in dashboard_expressions(
            DASHBOARD, {"namespace": ".*", "knowledge_base": NAME}
        ):
            values = server.values(expression)
            assert finite(values), f"panel {title!r}: no data from {expression}: {values}"

        selector = f'knowledge_base="{NAME}", stage="total"'
        (count,) = server.values(f"sum(ragtune_stage_latency_seconds_count{{{selector}}})")
        (p99,) = server.values(
            "histogram_quantile(0.99, sum by (le) "
            f"(ragtune_stage_latency_seconds_bucket{{{selector}}}))"
        )
        codes = {
            s["metric"]["code"]: float(s["value"][1])
            for s in server.query(
                f'sum by (code) (ragtune_requests_total{{knowledge_base="{NAME}"}})'
            )
        }
        unknown = server.values('sum(ragtune_requests_total{knowledge_base="_unknown"})')
        minted = server.query('ragtune_requests_total{knowledge_base="nope"}')

    total = next(s for s in watched.stages if s.stage == "total")
    assert count == total.count == answered
    lower, upper = _bucket(total.p99_ms / 1000)
    assert lower <= p99 <= upper, (p99, total.p99_ms, (lower, upper))
    assert codes["NOT_FOUND"] == 1 and codes["OK"] >= answered
    assert unknown and unknown[0] >= 1 and minted == []


def test_ragtune_top_shows_the_stages_live(stack: Settings, client: RagClient) -> None:
    client.ingest(pb.IngestRequest(knowledge_base=KB, documents=_documents()))
    client.query(pb.QueryRequest(knowledge_base=KB, question=QUESTIONS[2], max_tokens=16))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ragtune"), "top", "--kb", KB, "--count", "2",
         "--interval", "0.2"],
        env={**os.environ, "RAGTUNE_ADDRESS": stack.address},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(f"{KB} — last 60 s") == 2
    rows = [line.split() for line in done.stdout.splitlines()]
    assert any(row[:1] == ["total"] and float(row[3]) > 0 for row in rows)
