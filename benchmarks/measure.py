"""What every benchmark reports alike: the machine, latency percentiles, recall, and where
its results go."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(float(np.percentile(ordered, 50)), 3),
        "p99": round(float(np.percentile(ordered, 99)), 3),
        "mean": round(statistics.fmean(ordered), 3),
        "n": len(ordered),
    }


def recall_at(found: Sequence[Sequence[int]], truth: Sequence[Sequence[int]]) -> float:
    """Mean share of each query's true top-k that the search returned."""
    shares = [len(set(got) & set(want)) / len(want) for got, want in zip(found, truth, strict=True)]
    return statistics.fmean(shares)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU and GPU of this machine (the GPU from torch, where it sees one)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        gpu = None
    return {
        "host": socket.gethostname(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "cpu": platform.processor() or platform.machine(),
        "gpu": gpu,
        "python": sys.version.split()[0],
    }


def write_results(name: str, when: datetime, result: dict[str, Any], markdown: str) -> Path:
    """Write results/<date>-<host>-<name>.json and .md; returns that path without suffix,
    for the files a benchmark adds (charts)."""
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"{when:%Y-%m-%d}-{socket.gethostname()}-{name}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown)
    return stem
