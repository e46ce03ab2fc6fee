"""Serving metrics: bounded labels, what one answer records, and the node exporter summing the
files of several processes (and forgetting the live gauges of exited ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import metrics, metricsexport
from ragtune_serving.cli import latency_table
from ragtune_serving.rag.records import KnowledgeBaseRef, Timing


def _sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_label_values_are_bounded() -> None:
    budget = metrics.LabelBudget(limit=2)
    assert [budget.admit(v) for v in ("a", "b", "a", "c")] == ["a", "b", "a", metrics.OTHER]
    assert metrics.kb_labels(None) == (metrics.UNKNOWN, metrics.UNKNOWN)
    assert metrics.adapter_label(None) == metrics.NO_ADAPTER


def test_an_answer_records_its_stages_first_token_and_tokens() -> None:
    ref = KnowledgeBaseRef("unit", "answers")
    labels = {"namespace": "unit", "knowledge_base": "answers", "adapter": "tone"}
    timing = Timing(embed_ms=4, retrieve_ms=6, generate_ms=900, time_to_first_token_ms=120,
                    total_ms=1000)  # fmt: skip
    metrics.observe_answer(ref, "tone", timing, completion_tokens=17)
    stage = "ragtune_stage_latency_seconds"
    assert _sample(f"{stage}_count", **labels, stage="total") == 1
    assert _sample(f"{stage}_sum", **labels, stage="generate") == pytest.approx(0.9)
    # 1.0 s lands in the le=1.0 bucket, not the one below it
    assert _sample(f"{stage}_bucket", **labels, stage="total", le="1.0") == 1
    assert _sample(f"{stage}_bucket", **labels, stage="total", le="0.5") == 0
    assert _sample(f"{stage}_count", **labels, stage="rerank") == 0  # did not run
    assert _sample("ragtune_time_to_first_token_seconds_sum", **labels) == pytest.approx(0.12)
    assert _sample("ragtune_generated_tokens_total", **labels) == 17


RECORD = """
import os, sys
from ragtune_serving import metrics
from ragtune_serving.rag.records import KnowledgeBaseRef
metrics.count_request(KnowledgeBaseRef("ns", "kb"), "Query", "OK")
metrics.QUEUE_DEPTH.labels("Generator").inc(int(sys.argv[1]))
print(os.getpid(), flush=True)
if sys.argv[2] == "stay":
    sys.stdin.read()
"""


def test_the_exporter_sums_processes_and_drops_gauges_of_exited_ones(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    metricsexport.prepare(directory)
    env = {**os.environ, metrics.MULTIPROC_ENV: str(directory)}
    exited = subprocess.run(
        [sys.executable, "-c", RECORD, "5", "exit"], env=env, check=True, capture_output=True
    )
    assert exited.returncode == 0
    staying = subprocess.Popen(
        [sys.executable, "-c", RECORD, "2", "stay"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert staying.stdout is not None
        staying.stdout.readline()  # it has recorded
        exposed = generate_latest(metricsexport.registry_for(directory)).decode()
    finally:
        staying.communicate(b"")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposed)
        for s in family.samples
    }
    ok = (("code", "OK"), ("knowledge_base", "kb"), ("method", "Query"), ("namespace", "ns"))
    assert samples[("ragtune_requests_total", ok)] == 2  # both processes' counts
    # the exited process's in-flight requests are gone; the running one's remain
    assert samples[("ragtune_queue_depth", (("deployment", "Generator"),))] == 2


def test_latency_table_lists_stages_in_pipeline_order() -> None:
    snapshot = pb.LatencySnapshot(knowledge_base="ns/kb", window_seconds=60)
    snapshot.time.FromSeconds(0)
    for stage, p50 in (("total", 900.0), ("embed", 4.0), ("generate", 800.0)):
        snapshot.stages.add(stage=stage, p50_ms=p50, p90_ms=p50, p99_ms=p50, count=3)
    table = latency_table(snapshot).splitlines()
    assert table[0].startswith("ns/kb — last 60 s")
    assert [line.split()[0] for line in table[2:]] == ["embed", "generate", "total"]
    assert "900.0" in table[-1]
    empty = pb.LatencySnapshot(knowledge_base="ns/kb", window_seconds=60)
    assert "no questions answered" in latency_table(empty)
