"""A real Prometheus server (the Debian package's binary) for the metrics tests, on loopback.

`make test` installs the package where it can; without the binary the tests that need it skip
and say so.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

SCRAPE_INTERVAL_S = 1
RATE_INTERVAL = "1m"  # what the tests put in place of Grafana's $__rate_interval


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Prometheus:
    """A running server: its URL, and the instant-query API."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The result vector of an instant query; AssertionError with Prometheus's own error."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        try:
            with urllib.request.urlopen(address, timeout=30) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{expression!r}: {error.read().decode()}") from error
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def values(self, expression: str) -> list[float]:
        """The sample values of an instant query's vector."""
        return [float(series["value"][1]) for series in self.query(expression)]

    def targets_up(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=10) as response:
            active = json.loads(response.read())["data"]["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)

    def wait_scraped(self, scrapes: int = 2) -> None:
        """Wait until every target was scraped `scrapes` more times."""
        time.sleep(SCRAPE_INTERVAL_S * (scrapes + 0.5))


@contextmanager
def prometheus(targets: Sequence[str], home: Path) -> Iterator[Prometheus]:
    """Prometheus scraping `targets` (host:port, path /metrics) every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not installed (`make prometheus` installs it)")
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "ragtune", "static_configs": [{"targets": list(targets)}]}],
    }
    (home / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    log = home / "prometheus.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"prometheus exited:\n{log.read_text()[-3000:]}"
            try:
                if server.targets_up():
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"targets not up:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def dashboard_expressions(path: Path, variables: dict[str, str]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of a Grafana dashboard, its variables and
    `$__rate_interval` substituted."""
    dashboard = json.loads(path.read_text())
    found: list[tuple[str, str]] = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expression = target["expr"].replace("$__rate_interval", RATE_INTERVAL)
            for name, value in variables.items():
                expression = expression.replace(f"${name}", value)
            assert "$" not in expression, f"{panel['title']}: unsubstituted {expression}"
            found.append((panel["title"], expression))
    return found


def finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if not (math.isnan(v) or math.isinf(v))]
