"""The local stack on one machine: a Milvus Lite server, a Ray head, the Serve application.

`ragtune serve` starts what is not running yet and deploys the application through the Ray
dashboard's REST API (the same serve config the operator renders); `ragtune stop` ends it.
Processes are detached, with logs and pid files under `Settings.home`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ragtune_serving import metricsexport, raydashboard
from ragtune_serving.config import AdapterArgs, AppArgs, KnowledgeBaseAccess, MilvusArgs
from ragtune_serving.serveconfig import MODEL_ENV, build_serve_config
from ragtune_serving.settings import Settings

APP_NAME = "ragtune"
Say = Callable[[str], None]


class StartError(RuntimeError):
    """A part of the local stack did not come up; the message names it and its log."""


def isolated_settings(home: Path) -> Settings:
    """Settings for a private stack under `home` on free loopback ports (tests, benchmarks)."""
    grpc_port = _free_port()
    return Settings(
        home=home,
        address=f"127.0.0.1:{grpc_port}",
        grpc_port=grpc_port,
        http_port=_free_port(),
        ray_port=_free_port(),
        dashboard_port=_free_port(),
        milvus_port=_free_port(),
        metrics_port=_free_port(),
    )


def app_args(settings: Settings) -> AppArgs:
    """The application's arguments for this machine's stack."""
    return AppArgs(
        milvus=MilvusArgs(uri=settings.effective_milvus_uri, token=settings.milvus_token)
    )


def start(
    settings: Settings,
    args: AppArgs | None = None,
    say: Say = print,
    adapters: Mapping[str, AdapterArgs] | None = None,
    access: Mapping[str, KnowledgeBaseAccess] | None = None,
) -> None:
    """Start Milvus Lite and Ray if needed, then deploy (or update) the application, its
    adapters and which knowledge bases require a bearer token ("ns/name" → access)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "logs").mkdir(exist_ok=True)
    start_milvus(settings, say)
    start_metrics(settings, say)
    start_ray(settings, say)
    deploy(settings, args or app_args(settings), say, adapters, access)


def metrics_dir(settings: Settings) -> Path:
    """Where the local application's processes write their metrics."""
    return (settings.home / "metrics").resolve()


def start_metrics(settings: Settings, say: Say = print) -> None:
    """The metrics exporter serving the local application's Prometheus metrics; a fresh
    (empty) metrics directory unless Ray is already running and writing into it."""
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    if _port_open(settings.metrics_port):
        say(f"Metrics: already served at {url}")
        return
    if not raydashboard.is_up(settings.dashboard_url):
        metricsexport.prepare(metrics_dir(settings))
    command = [
        str(Path(sys.executable).with_name("ragtune")), "metrics-exporter",
        "--dir", str(metrics_dir(settings)),
        "--port", str(settings.metrics_port), "--host", "127.0.0.1",
    ]  # fmt: skip
    log = settings.home / "logs" / "metrics.log"
    pid = _spawn(command, log)
    (settings.home / "metrics.pid").write_text(str(pid))

    def up() -> bool:
        if not _alive(pid):
            raise StartError(f"the metrics exporter exited; see {log}")
        return _port_open(settings.metrics_port)

    _wait_for(up, 30, f"the metrics exporter ({log})")
    say(f"Metrics: Prometheus endpoint {url}")


def start_milvus(settings: Settings, say: Say = print) -> None:
    """A Milvus Lite server on loopback, unless an external Milvus is configured."""
    if settings.milvus_uri:
        say(f"Milvus: using {settings.milvus_uri}")
        return
    if _port_open(settings.milvus_port):
        say(f"Milvus: already listening on 127.0.0.1:{settings.milvus_port}")
        return
    data = (settings.home / "milvus").resolve()
    log = settings.home / "logs" / "milvus.log"
    command = [
        sys.executable, "-m", "ragtune_serving.stores.milvuslite", "server",
        "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(settings.milvus_port),
    ]  # fmt: skip
    pid = _spawn(command, log)
    (settings.home / "milvus.pid").write_text(str(pid))
    _wait_for(lambda: _port_open(settings.milvus_port), 60, f"Milvus Lite (log: {log})")
    say(f"Milvus Lite: serving {data} on 127.0.0.1:{settings.milvus_port}")


def start_ray(settings: Settings, say: Say = print) -> None:
    """A local Ray head with its dashboard (the Serve REST API)."""
    if raydashboard.is_up(settings.dashboard_url):
        say(f"Ray: already running, dashboard {settings.dashboard_url}")
        return
    # --block keeps `ray start` in the foreground as the leader of a process group holding
    # this cluster's processes: stop() ends exactly those, never another local Ray cluster.
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
        "--port", str(settings.ray_port), "--dashboard-host", "127.0.0.1",
        "--dashboard-port", str(settings.dashboard_port), "--include-dashboard", "true",
        "--disable-usage-stats",
    ]  # fmt: skip
    if settings.num_cpus:
        command += ["--num-cpus", str(settings.num_cpus)]
    log = settings.home / "logs" / "ray-start.log"
    pid = _spawn(command, log)
    (settings.home / "ray.pid").write_text(str(pid))

    def up() -> bool:
        if not _alive(pid):
            raise StartError(f"`ray start` exited; see {log}")
        return raydashboard.is_up(settings.dashboard_url)

    _wait_for(up, 60, f"Ray dashboard ({log})")
    say(f"Ray: head started, dashboard {settings.dashboard_url}")


def serve_config(
    settings: Settings,
    args: AppArgs,
    adapters: Mapping[str, AdapterArgs] | None = None,
    access: Mapping[str, KnowledgeBaseAccess] | None = None,
) -> dict[str, Any]:
    """The Serve config the local stack deploys: loopback proxies on the settings' ports."""
    return build_serve_config(
        args,
        adapters=adapters,
        access=access,
        app_name=APP_NAME,
        grpc_port=settings.grpc_port,
        http_port=settings.http_port,
        http_host="127.0.0.1",
        metrics_dir=str(metrics_dir(settings)),
    )


def deploy(
    settings: Settings,
    args: AppArgs,
    say: Say = print,
    adapters: Mapping[str, AdapterArgs] | None = None,
    access: Mapping[str, KnowledgeBaseAccess] | None = None,
) -> None:
    """Deploy the application through the dashboard and wait until it runs."""
    config = serve_config(settings, args, adapters, access)
    say("Serve: deploying gateway, embedder, retriever and generator (first start loads models)")
    try:
        raydashboard.put_config(settings.dashboard_url, config)
        raydashboard.wait_running(settings.dashboard_url, [APP_NAME], settings.start_timeout_s)
    except raydashboard.DashboardError as error:
        raise StartError(str(error)) from error
    say(f"Serve: {APP_NAME} running — gRPC {settings.address}, HTTP 127.0.0.1:{settings.http_port}")


def stop(settings: Settings, say: Say = print) -> None:
    """Stop the Ray head (and with it the application) and the Milvus Lite server that
    `start` started from this home; processes it did not start are left alone."""
    stopping = (("Ray", "ray.pid"), ("Milvus Lite", "milvus.pid"), ("Metrics", "metrics.pid"))
    for name, pid_file in stopping:
        path = settings.home / pid_file
        if path.exists():
            _stop_group(int(path.read_text() or 0))
            path.unlink()
            say(f"{name}: stopped")


def _stop_group(pid: int) -> None:
    """SIGTERM a process group, SIGKILL what is left of it after 20 s."""
    if pid <= 0:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
        _wait_for(lambda: not _alive(pid), 20, "processes to stop")
    except ProcessLookupError:
        return
    except StartError:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _env() -> dict[str, str]:
    """The environment of local services: models offline, and this interpreter's scripts
    (`ray`, `ragtune`) first on PATH, as in the serving image, for Ray jobs run there."""
    env = dict(os.environ)
    env.update(MODEL_ENV)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        [scripts, *(p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts)]
    )
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return env


def _spawn(command: list[str], log: Path) -> int:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=_env(),
        )
    return process.pid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap it if it is our own exited child
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(ready: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.25)
    raise StartError(f"timed out after {timeout_s:.0f}s waiting for {what}")
