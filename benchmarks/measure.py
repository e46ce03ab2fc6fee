"""What every benchmark reports alike: the machine, latency percentiles, recall."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np


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
