"""The operator's own Prometheus metrics: reconciles per kind and handler, their latency and
errors, served on OperatorSettings.metrics_port."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram, start_http_server

F = TypeVar("F", bound=Callable[..., Any])
LABELS = ("kind", "handler")
RECONCILES = Counter(
    "ragtune_operator_reconciles", "Handler runs (reconciles), by resource kind.", LABELS
)
RECONCILE_ERRORS = Counter(
    "ragtune_operator_reconcile_errors",
    "Handler runs that raised (kopf retries them), by resource kind.",
    LABELS,
)
RECONCILE_SECONDS = Histogram(
    "ragtune_operator_reconcile_duration_seconds",
    "Seconds a handler run took, by resource kind.",
    LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


def reconciler(kind: str) -> Callable[[F], F]:
    """Count, time and count the failures of a (sync) kopf handler of resources of `kind`."""

    def wrap(handler: F) -> F:
        labels = (kind, handler.__name__)
        for metric in (RECONCILES, RECONCILE_ERRORS, RECONCILE_SECONDS):
            metric.labels(*labels)  # every series exists from the start, at zero

        @functools.wraps(handler)
        def measured(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return handler(*args, **kwargs)
            except Exception:
                RECONCILE_ERRORS.labels(*labels).inc()
                raise
            finally:
                RECONCILES.labels(*labels).inc()
                RECONCILE_SECONDS.labels(*labels).observe(time.monotonic() - started)

        return measured  # type: ignore[return-value]

    return wrap


def serve(port: int) -> None:
    """Serve /metrics on `port` (all interfaces); 0 serves nothing."""
    if port:
        start_http_server(port)
