"""The node's metrics exporter: one `/metrics` for every serving process on a node.

Serve replicas write prometheus-client multiprocess files into one directory per node (a
pod's emptyDir, the local stack's home); this process serves their sum over HTTP. Counters and
histograms of replicas that exited stay in the sum (a restart never makes a counter go back);
the live gauges (queue depth) of processes that no longer run are dropped at each scrape,
which needs their process ids visible here (same host, or `shareProcessNamespace` in a pod).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]*_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class NodeCollector:
    """MultiProcessCollector over `directory`, after dropping the live gauges of dead pids."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._files: Any = MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        for path in self._directory.glob("gauge_live*_*.db"):
            match = LIVE_GAUGE_FILE.match(path.name)
            if match and not _alive(int(match.group(1))):
                mark_process_dead(int(match.group(1)), str(self._directory))  # type: ignore[no-untyped-call]
        return cast(Iterable[Metric], self._files.collect())


def prepare(directory: Path) -> None:
    """An empty metrics directory, as a fresh pod's emptyDir is: files of an earlier run
    (other process ids, same counters) would otherwise be summed into this one's."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def registry_for(directory: Path) -> CollectorRegistry:
    """A registry serving the sum of the files under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(directory))
    return registry


def serve(directory: Path, port: int, host: str = "0.0.0.0") -> None:
    """Serve `/metrics` for `directory` on host:port until the process is stopped."""
    start_http_server(port, addr=host, registry=registry_for(directory))
    threading.Event().wait()
