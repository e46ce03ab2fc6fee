"""The operator's end-to-end tier: the real kopf operator (`ragtune operator`, a separate
process) against KMock's Kubernetes API emulator, driven by kubectl and the `kubernetes`
client as a user would drive a cluster."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from ragtune_operator import conventions as c

from .cluster import Cluster, api_server

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "kubernetes"
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Kube:
    """The `kubernetes` client against the emulator, plus the few reads tests need raw."""

    api: kubernetes.client.ApiClient
    kubeconfig: Path

    @property
    def custom(self) -> kubernetes.client.CustomObjectsApi:
        return kubernetes.client.CustomObjectsApi(self.api)

    @property
    def core(self) -> kubernetes.client.CoreV1Api:
        return kubernetes.client.CoreV1Api(self.api)

    def get(self, plural: str, namespace: str, name: str, group: str = c.GROUP) -> Any:
        version = "v1" if group == "ray.io" else c.VERSION
        try:
            return self.custom.get_namespaced_custom_object(group, version, namespace, plural, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def kb(self, namespace: str, name: str) -> Any:
        return self.get(c.KNOWLEDGE_BASE_PLURAL, namespace, name)

    def create(self, body: dict[str, Any]) -> Any:
        plural = {
            c.KNOWLEDGE_BASE_KIND: c.KNOWLEDGE_BASE_PLURAL,
            c.ADAPTER_KIND: c.ADAPTER_PLURAL,
            c.EVALUATION_KIND: c.EVALUATION_PLURAL,
        }
        namespace = body["metadata"]["namespace"]
        if body["kind"] == "ConfigMap":
            return self.core.create_namespaced_config_map(namespace, body)
        return self.custom.create_namespaced_custom_object(
            c.GROUP, c.VERSION, namespace, plural[body["kind"]], body
        )

    def patch_spec(self, plural: str, namespace: str, name: str, spec: dict[str, Any]) -> Any:
        return self.custom.patch_namespaced_custom_object(
            c.GROUP, c.VERSION, namespace, plural, name, {"spec": spec}
        )

    def delete(self, plural: str, namespace: str, name: str) -> Any:
        return self.custom.delete_namespaced_custom_object(
            c.GROUP, c.VERSION, namespace, plural, name
        )

    def events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        response = self.core.list_namespaced_event(namespace, _preload_content=False)
        items: list[dict[str, Any]] = json.loads(response.data)["items"]
        return [e for e in items if e["involvedObject"].get("name") == name]

    def condition(self, namespace: str, name: str, type_: str) -> dict[str, Any] | None:
        kb = self.kb(namespace, name) or {}
        for cond in (kb.get("status") or {}).get("conditions") or []:
            if cond["type"] == type_:
                found: dict[str, Any] = cond
                return found
        return None


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real kubectl against the emulator (the emulator serves no OpenAPI documents, so
    client-side validation is off; the CRD schemas are tested on their own)."""
    if shutil.which("kubectl") is None:
        pytest.skip(
            "kubectl is not installed: this step drives the API as a user would, with kubectl"
            " (install kubectl >= 1.27 to run it)"
        )
    done = subprocess.run(
        ["kubectl", *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with api_server(tmp_path_factory.mktemp("kube")) as running:
        for namespace in ("default", "team-a", "team-b", "team-c", "team-d"):
            running.add_namespace(namespace)
        yield running


@pytest.fixture(scope="module")
def kube(cluster: Cluster) -> Iterator[Kube]:
    api = kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        yield Kube(api, cluster.kubeconfig)
    finally:
        api.close()


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log: Path
    metrics_port: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_operator(
    cluster: Cluster, home: Path, env: dict[str, str], args: list[str]
) -> OperatorProcess:
    """`ragtune operator ARGS` as a separate process, logging to a file under `home`."""
    log = home / "operator.log"
    command = [str(Path(sys.executable).parent / "ragtune"), "operator", "--verbose", *args]
    environment = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "RAGTUNE_OPERATOR_RESYNC_INTERVAL_S": "1",
        "RAGTUNE_OPERATOR_METRICS_PORT": str(free_port()),
        **env,
    }
    metrics_port = int(environment["RAGTUNE_OPERATOR_METRICS_PORT"])
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=environment, stdout=sink, stderr=subprocess.STDOUT)
    running = OperatorProcess(process, log, metrics_port)
    wait_for(
        lambda: "ragtune operator started" in running.output() or process.poll() is not None,
        60,
        "the operator to start",
    )
    assert process.poll() is None, f"the operator exited:\n{running.output()[-4000:]}"
    return running


def stop_operator(running: OperatorProcess) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait()


def kill_operator(running: OperatorProcess) -> None:
    """SIGKILL: no shutdown, no chance to finish what it was doing, as when a node dies."""
    running.process.kill()
    running.process.wait(timeout=30)
