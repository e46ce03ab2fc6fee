"""Latency windows report nearest-rank percentiles per stage and forget old samples."""

from __future__ import annotations

import pytest

from ragtune_serving.rag.latency import LatencyWindow, StageStats, percentile

ONE_TO_HUNDRED = [float(v) for v in range(1, 101)]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        (ONE_TO_HUNDRED, 50, 50.0),
        (ONE_TO_HUNDRED, 90, 90.0),
        (ONE_TO_HUNDRED, 99, 99.0),
        (ONE_TO_HUNDRED, 100, 100.0),
        (ONE_TO_HUNDRED, 0.1, 1.0),
        ([15.0, 20.0, 35.0, 40.0, 50.0], 30, 20.0),
        ([15.0, 20.0, 35.0, 40.0, 50.0], 40, 20.0),
        ([15.0, 20.0, 35.0, 40.0, 50.0], 50, 35.0),
        ([15.0, 20.0, 35.0, 40.0, 50.0], 100, 50.0),
        ([7.0], 1, 7.0),
        ([7.0], 99, 7.0),
    ],
)
def test_nearest_rank_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


@pytest.mark.parametrize("q", [0, -1, 100.5])
def test_percentile_rejects_q_out_of_range(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], q)


def test_percentile_rejects_no_values() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_snapshot_per_stage_and_zero_stages_ignored() -> None:
    window = LatencyWindow()
    for value in ONE_TO_HUNDRED:
        window.add({"embed": value, "rerank": 0.0, "total": value * 2}, now=10.0)
    snapshot = window.snapshot(now=10.0)
    assert set(snapshot) == {"embed", "total"}
    assert snapshot["embed"] == StageStats(p50_ms=50.0, p90_ms=90.0, p99_ms=99.0, count=100)
    assert snapshot["total"] == StageStats(p50_ms=100.0, p90_ms=180.0, p99_ms=198.0, count=100)


def test_samples_older_than_window_expire() -> None:
    window = LatencyWindow(window_seconds=60.0)
    window.add({"embed": 1000.0, "generate": 5.0}, now=0.0)
    window.add({"embed": 10.0}, now=30.0)
    window.add({"embed": 20.0}, now=50.0)

    assert window.snapshot(now=60.0)["embed"].count == 3
    after = window.snapshot(now=61.0)
    assert "generate" not in after
    assert after["embed"] == StageStats(p50_ms=10.0, p90_ms=20.0, p99_ms=20.0, count=2)
    assert window.snapshot(now=200.0) == {}


def test_memory_is_bounded_per_stage() -> None:
    window = LatencyWindow(max_samples=5)
    for value in range(1, 11):
        window.add({"embed": float(value)}, now=float(value))
    stats = window.snapshot(now=10.0)["embed"]
    assert stats.count == 5
    assert stats.p50_ms == 8.0  # only 6..10 are kept


def test_empty_window_gives_empty_snapshot() -> None:
    assert LatencyWindow().snapshot(now=0.0) == {}


@pytest.mark.parametrize(("seconds", "samples"), [(0.0, 10), (-1.0, 10), (60.0, 0)])
def test_invalid_settings_are_rejected(seconds: float, samples: int) -> None:
    with pytest.raises(ValueError):
        LatencyWindow(window_seconds=seconds, max_samples=samples)
