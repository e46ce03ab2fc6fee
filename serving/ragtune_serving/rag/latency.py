"""Latency: per-stage percentiles over a sliding time window, in bounded memory."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StageStats:
    """Percentiles of one stage's milliseconds, and how many samples they cover."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    count: int


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile `q` (in (0, 100]) of already sorted, non-empty values."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile q must be in (0, 100], got {q}")
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


class LatencyWindow:
    """Per-stage samples of the last `window_seconds`, at most `max_samples` per stage.

    Times are monotonic seconds supplied by the caller, so the window is testable.
    """

    def __init__(self, window_seconds: float = 60.0, max_samples: int = 10_000) -> None:
        if not window_seconds > 0:
            raise ValueError(f"window_seconds must be positive, got {window_seconds}")
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {max_samples}")
        self._window = window_seconds
        self._max_samples = max_samples
        self._samples: dict[str, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def add(self, stages: Mapping[str, float], now: float) -> None:
        """Record one request's milliseconds per stage; stages at 0 did not run and are skipped."""
        with self._lock:
            for stage, millis in stages.items():
                if not millis > 0:
                    continue
                samples = self._samples.get(stage)
                if samples is None:
                    samples = self._samples[stage] = deque(maxlen=self._max_samples)
                samples.append((now, millis))

    def snapshot(self, now: float) -> dict[str, StageStats]:
        """Drop samples older than the window; percentiles of each stage that has samples."""
        oldest = now - self._window
        stats: dict[str, StageStats] = {}
        with self._lock:
            for stage in list(self._samples):
                samples = self._samples[stage]
                while samples and samples[0][0] < oldest:
                    samples.popleft()
                if not samples:
                    del self._samples[stage]
                    continue
                values = sorted(millis for _, millis in samples)
                stats[stage] = StageStats(
                    p50_ms=percentile(values, 50),
                    p90_ms=percentile(values, 90),
                    p99_ms=percentile(values, 99),
                    count=len(values),
                )
        return stats
