"""One file per `make bench` run: today's results of every benchmark on this host gathered into
benchmarks/results/<date>-<host>.json, and a markdown page with every target, the figure
measured, whether it was met, and which benchmark measured it.

    python benchmarks/aggregate.py
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import RESULTS

BENCHMARKS = ("retrieval", "service", "engine")
RETRIEVAL_TARGET = {"chunks": 100_000, "p99_ms": 20.0, "recall": 0.95}


def retrieval_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """p99 ≤ 20 ms at 100k chunks with recall@10 ≥ 0.95, for ragtune's own retriever path."""
    tier = next(t for t in result["tiers"] if t["chunks"] == RETRIEVAL_TARGET["chunks"])
    name = result["retriever"]
    row = tier["paths"][name]
    p99, recall = row["latency_ms"]["p99"], row["recall_at_10"]
    return [
        {
            "target": "retrieval p99 ≤ 20 ms at 100k chunks, recall@10 ≥ 0.95",
            "measured": f"{name}: p99 {p99} ms, recall {recall}",
            "met": p99 <= RETRIEVAL_TARGET["p99_ms"] and recall >= RETRIEVAL_TARGET["recall"],
        }
    ]


def engine_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    batching, overhead = result["batching_ratio_8_vs_1"], result["engine_vs_raw"]
    return [
        {
            "target": "engine: 8 concurrent clients ≥ 3× one client's tokens/s",
            "measured": f"{batching:.2f}×",
            "met": batching >= 3,
        },
        {
            "target": "engine: one request ≥ 0.9× raw `model.generate` tokens/s",
            "measured": f"{overhead:.3f}×",
            "met": overhead >= 0.9,
        },
    ]


def gather(date: str, host: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in BENCHMARKS:
        path = RESULTS / f"{date}-{host}-{name}.json"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `make bench` (it runs every benchmark)")
        found[name] = json.loads(path.read_text())
    targets = [
        *retrieval_targets(found["retrieval"]),
        *[dict(row) for row in found["service"]["targets"]],
        *engine_targets(found["engine"]),
    ]
    return {"date": date, "host": host, "targets": targets, "benchmarks": found}


def markdown(result: dict[str, Any]) -> str:
    machine = result["benchmarks"]["service"]["machine"]
    lines = [
        f"# Benchmarks — {result['date']}, {result['host']}",
        "",
        f"Machine: {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['cpu']}, "
        f"{machine['gpu'] or 'no GPU'}, Python {machine['python']}. Every figure from one "
        "`make bench` run on it; the details, per benchmark:",
        "",
        *[f"- [{name}]({result['date']}-{result['host']}-{name}.md)" for name in BENCHMARKS],
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for row in result["targets"]:
        lines.append(f"| {row['target']} | {row['measured']} | {'yes' if row['met'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    date, host = f"{datetime.now(UTC):%Y-%m-%d}", socket.gethostname()
    result = gather(date, host)
    stem = RESULTS / f"{date}-{host}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
