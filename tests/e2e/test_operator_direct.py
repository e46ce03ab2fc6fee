"""Direct mode end to end: the operator, watching the Kubernetes API (the emulator), serves
knowledge bases on a real local Ray cluster through its dashboard — real Milvus Lite, real
models, real gRPC answers — and keeps its status honest.

One knowledge base goes through its whole life: apply → Serve application RUNNING → indexed →
a gRPC question answered from its documents → an adapter hot-loaded (replica ids unchanged) →
a source edit re-ingested incrementally → a chunking change re-indexed into a new collection →
delete → application and collections gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_operator import conventions as c
from ragtune_operator import permissions
from ragtune_operator.reconcile.training import training_state
from ragtune_operator.render import training
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import AdapterResource, AdapterSpec
from ragtune_serving import local, raydashboard
from ragtune_serving.client import RagClient
from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import connect

from .cluster import Cluster
from .conftest import Kube, OperatorProcess, start_operator, stop_operator, wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "e2e"
KB = "handbook"
DEPLOY_TIMEOUT_S = 600.0
STEP_TIMEOUT_S = 240.0


@pytest.fixture(scope="module")
def ray_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Milvus Lite and a Ray head, nothing deployed: the operator deploys."""
    settings = local.isolated_settings(tmp_path_factory.mktemp("direct-home"))
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "logs").mkdir(exist_ok=True)
    try:
        local.start_milvus(settings)
        local.start_ray(settings)
        yield settings
    finally:
        local.stop(settings)


@pytest.fixture(scope="module")
def operator(
    cluster: Cluster, ray_stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    cluster.add_namespace(NAMESPACE)
    env = {
        "RAGTUNE_OPERATOR_GRPC_PORT": str(ray_stack.grpc_port),
        "RAGTUNE_OPERATOR_HTTP_PORT": str(ray_stack.http_port),
        "RAGTUNE_OPERATOR_MILVUS_URI": ray_stack.effective_milvus_uri,
        "RAGTUNE_OPERATOR_RESYNC_INTERVAL_S": "2",
        "RAGTUNE_OPERATOR_SERVING_METRICS_DIR": str(local.metrics_dir(ray_stack)),
    }
    args = ["--direct", ray_stack.dashboard_url, "--namespace", NAMESPACE]
    cluster.api.operator_calls.clear()  # from here on, this module's operator's calls
    running = start_operator(cluster, tmp_path_factory.mktemp("operator"), env, args)
    try:
        yield running
    finally:
        stop_operator(running)
        print(running.output()[-20000:])


def _status(kube: Kube) -> dict[str, Any]:
    found: dict[str, Any] = (kube.kb(NAMESPACE, KB) or {}).get("status") or {}
    return found


def _replica_ids(stack: Settings) -> dict[str, list[str]]:
    application = raydashboard.application_statuses(stack.dashboard_url)["ragtune"]
    return {
        name: sorted(r["replica_id"] for r in deployment["replicas"] if r["state"] == "RUNNING")
        for name, deployment in application["deployments"].items()
    }


def _kb_collections(stack: Settings) -> list[str]:
    """The collections of this test's namespace, asked of Milvus."""
    milvus = connect(stack.effective_milvus_uri)
    try:
        return [name for name in milvus.list_collections() if f"rt_{NAMESPACE}__" in name]
    finally:
        milvus.close()


DOCS = {
    "leave.md": "Staff at Kestrel Harbor receive 27 days of paid leave per year.",
    "travel.md": "Train travel is booked in standard class; flights need a director's approval.",
}


def test_a_knowledge_base_lives_and_dies_on_a_real_ray_cluster(
    kube: Kube, operator: OperatorProcess, ray_stack: Settings, tone_adapter: Path
) -> None:
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "handbook-docs", "namespace": NAMESPACE},
            "data": DOCS,
        }
    )
    kube.create(
        {
            "apiVersion": c.API_VERSION,
            "kind": c.KNOWLEDGE_BASE_KIND,
            "metadata": {"name": KB, "namespace": NAMESPACE},
            "spec": {
                "sources": [
                    {"configMap": {"name": "handbook-docs"}},
                    {"inline": [{"id": "desk.md", "text": "The support desk is extension 4410."}]},
                ],
                "retrieval": {"topK": 2},
            },
        }
    )

    # Serve application RUNNING, documents indexed, Ready — all reported in status.
    status = wait_for(
        lambda: (
            _status(kube)
            if _status(kube).get("phase") == "Ready" and _status(kube).get("documents") == 3
            else None
        ),
        DEPLOY_TIMEOUT_S,
        "the knowledge base Ready with its 3 documents",
    )
    assert (status["documents"], status["endpoint"]) == (3, ray_stack.address)
    assert status["chunks"] >= 3
    assert raydashboard.application_statuses(ray_stack.dashboard_url)["ragtune"]["status"] == (
        "RUNNING"
    )

    # A real gRPC question, answered from its documents.
    with RagClient(ray_stack.address, timeout_s=300) as client:
        reply = client.query(
            pb.QueryRequest(
                knowledge_base=f"{NAMESPACE}/{KB}",
                question="How many days of paid leave do staff receive per year?",
            )
        )
    assert "27" in reply.answer
    assert reply.citations[0].document_id == "leave.md"

    # An adapter is hot-loaded: same replicas, adapter loaded, both statuses say so.
    before = _replica_ids(ray_stack)
    kube.create(
        {
            "apiVersion": c.API_VERSION,
            "kind": c.ADAPTER_KIND,
            "metadata": {"name": "tone", "namespace": NAMESPACE},
            "spec": {"baseModel": PACKAGED_GENERATOR, "source": {"path": str(tone_adapter)}},
        }
    )
    kube.patch_spec(c.KNOWLEDGE_BASE_PLURAL, NAMESPACE, KB, {"generator": {"adapterRef": "tone"}})
    wait_for(
        lambda: _status(kube).get("adapters") == ["tone"], STEP_TIMEOUT_S, "the adapter loaded"
    )
    assert _replica_ids(ray_stack) == before
    adapter = wait_for(
        lambda: (
            (kube.get(c.ADAPTER_PLURAL, NAMESPACE, "tone") or {}).get("status", {}).get("phase")
            == "Ready"
            and kube.get(c.ADAPTER_PLURAL, NAMESPACE, "tone")["status"]
        ),
        STEP_TIMEOUT_S,
        "the adapter Ready",
    )
    assert adapter["loadedBy"] == [KB]

    # A source edit is re-ingested incrementally: one document updated, the rest untouched.
    kube.core.patch_namespaced_config_map(
        "handbook-docs",
        NAMESPACE,
        {"data": {"leave.md": "Staff at Kestrel Harbor receive 31 days of paid leave per year."}},
    )
    ingested = wait_for(
        lambda: [
            e
            for e in kube.events(NAMESPACE, KB)
            if e["reason"] == "Ingested" and "1 updated" in e["message"]
        ],
        STEP_TIMEOUT_S,
        "an incremental ingest",
    )
    assert "2 unchanged" in ingested[0]["message"]

    # A chunking change builds a new collection and swaps the alias to it.
    collections = _kb_collections(ray_stack)
    kube.patch_spec(
        c.KNOWLEDGE_BASE_PLURAL, NAMESPACE, KB, {"chunking": {"size": 32, "overlap": 8}}
    )
    wait_for(
        lambda: [e for e in kube.events(NAMESPACE, KB) if "re-indexed" in e["message"]],
        STEP_TIMEOUT_S,
        "a re-index",
    )
    with RagClient(ray_stack.address, timeout_s=60) as client:
        info = client.get_knowledge_base(f"{NAMESPACE}/{KB}")
    assert (info.settings.chunk_size, info.documents) == (32, 3)
    after = _kb_collections(ray_stack)
    assert after and not set(after) & set(collections)
    assert any(e["reason"] == "ReindexChange" for e in kube.events(NAMESPACE, KB))

    # Deleting it drops its collections and, as the last one, the Serve application.
    kube.delete(c.KNOWLEDGE_BASE_PLURAL, NAMESPACE, KB)
    wait_for(lambda: kube.kb(NAMESPACE, KB) is None, STEP_TIMEOUT_S, "the knowledge base gone")
    wait_for(
        lambda: any(e["reason"] == "Dropped" for e in kube.events(NAMESPACE, KB)),
        STEP_TIMEOUT_S,
        "a Dropped event",
    )
    wait_for(
        lambda: "ragtune" not in raydashboard.application_statuses(ray_stack.dashboard_url),
        STEP_TIMEOUT_S,
        "the Serve application removed",
    )
    assert _kb_collections(ray_stack) == []


def test_direct_mode_trains_an_adapter_in_a_plain_job(
    kube: Kube, operator: OperatorProcess
) -> None:
    """No KubeRay in direct mode: an Adapter with `training` gets a batch/v1 Job."""
    dataset = {"configMap": {"name": "tone-data", "key": "train.jsonl"}}
    kube.create(
        {
            "apiVersion": c.API_VERSION,
            "kind": c.ADAPTER_KIND,
            "metadata": {"name": "trained-tone", "namespace": NAMESPACE},
            "spec": {"baseModel": PACKAGED_GENERATOR, "training": {"datasetRef": dataset}},
        }
    )
    batch = kubernetes.client.BatchV1Api(kube.api)
    job = wait_for(
        lambda: next(iter(batch.list_namespaced_job(NAMESPACE).items), None), 60, "the Job"
    )
    (container,) = job.spec.template.spec.containers
    assert container.command[:2] == ["ragtune", "train"]
    assert container.command[-2:] == ["--report", training.TERMINATION_LOG]

    # The test plays the Job controller and kubelet: the pod reports, the Job completes.
    name = job.metadata.name
    kube.core.create_namespaced_pod(
        NAMESPACE,
        {
            "metadata": {"name": f"{name}-x", "labels": {"job-name": name}},
            "spec": {"containers": [{"name": "train", "image": "x"}]},
            "status": {
                "containerStatuses": [
                    {
                        "name": "train",
                        "image": "x",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": {"exitCode": 0, "message": '{"final_loss": 0.5}'}},
                    }
                ]
            },
        },
    )
    batch.patch_namespaced_job_status(name, NAMESPACE, {"status": {"succeeded": 1}})
    wait_for(
        lambda: (
            (kube.get(c.ADAPTER_PLURAL, NAMESPACE, "trained-tone") or {})
            .get("status", {})
            .get("finalLoss")
            == 0.5
        ),
        60,
        "the final loss in status",
    )
    kube.delete(c.ADAPTER_PLURAL, NAMESPACE, "trained-tone")


def _submit(script: str, stack: Settings, submission: str) -> subprocess.CompletedProcess[str]:
    """Run a RayJob's submitter command as KubeRay runs it, with the variables it injects."""
    scripts = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
        "RAY_DASHBOARD_ADDRESS": stack.dashboard_url.removeprefix("http://"),
        "RAY_JOB_SUBMISSION_ID": submission,
    }
    return subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=900
    )


def test_the_training_rayjob_submitter_trains_on_a_real_ray_cluster_and_reports(
    ray_stack: Settings, tmp_path: Path
) -> None:
    """The RayJob's submitter script and entrypoint, run for real against this Ray cluster:
    the training runs as a Ray job, the metrics land in the termination log, a restarted
    submitter follows the job already submitted, and a failed training fails the submitter
    with the training's own error."""
    root = tmp_path / "artifacts"
    data = root / "datasets" / "train.jsonl"
    data.parent.mkdir(parents=True)
    lines = (REPO / "tests/data/format/train.jsonl").read_text().splitlines()[:4]
    data.write_text("\n".join(lines) + "\n")
    settings = OperatorSettings(artifacts_root=str(root))

    def submitter(dataset: Path, report: Path) -> str:
        spec = {
            "baseModel": PACKAGED_GENERATOR,
            "training": {"datasetRef": {"path": str(dataset)}, "epochs": 1},
        }
        adapter = AdapterResource(NAMESPACE, "tone", "uid", 1, AdapterSpec.model_validate(spec))
        rayjob = training.training_rayjob(adapter, settings)
        (container,) = rayjob["spec"]["submitterPodTemplate"]["spec"]["containers"]
        script: str = container["command"][2]
        return script.replace(training.TERMINATION_LOG, str(report))

    report = tmp_path / "termination-log"
    script = submitter(data, report)
    done = _submit(script, ray_stack, "ragtune-train-e2e-1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads(report.read_text())
    assert metrics["final_loss"] > 0 and metrics["examples"] == 4
    state = training_state(
        {"kind": "RayJob", "status": {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}},
        report.read_text(),
        datetime.now(UTC),
    )
    assert (state.phase, state.final_loss) == ("Trained", metrics["final_loss"])

    # KubeRay restarts a submitter that died: it follows the job already submitted.
    report.unlink()
    again = _submit(script, ray_stack, "ragtune-train-e2e-1")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert json.loads(report.read_text()) == metrics

    # A training that fails fails the submitter, with the training's error in its output.
    broken = root / "datasets" / "broken.jsonl"
    broken.write_text('not json\n{"instruction": "no response"}\n')
    failed_report = tmp_path / "failed-log"
    failed = _submit(submitter(broken, failed_report), ray_stack, "ragtune-train-e2e-2")
    assert failed.returncode != 0
    assert "no usable" in failed.stdout + failed.stderr
    assert not failed_report.exists()


def test_the_operator_called_exactly_what_the_charts_rbac_grants(cluster: Cluster) -> None:
    """As in KubeRay mode, for a direct-mode operator watching one namespace: every call it
    made is in its permission list, and every permission was used. Last in the module."""
    settings = OperatorSettings(direct_dashboard_url="http://ray:8265")
    needed = permissions.required(settings, clusterwide=False)
    calls = cluster.api.operator_calls
    assert {(call.group, call.resource, call.verb) for call in calls} == (
        permissions.as_rules(needed)
    )
    cluster_scoped = {(p.group, p.resource) for p in needed if p.cluster}
    for call in calls:
        assert call.namespaced or (call.group, call.resource) in cluster_scoped, call
