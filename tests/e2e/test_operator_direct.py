"""Direct mode end to end: the operator, watching the Kubernetes API (the emulator), serves
knowledge bases on a real local Ray cluster through its dashboard — real Milvus Lite, real
models, real gRPC answers — and keeps its status honest.

One knowledge base goes through its whole life: apply → Serve application RUNNING → indexed →
a gRPC question answered from its documents → an adapter hot-loaded (replica ids unchanged) →
a source edit re-ingested incrementally → a chunking change re-indexed into a new collection →
delete → application and collections gone.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import kubernetes
import pytest
import yaml

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_operator import conventions as c
from ragtune_operator import permissions
from ragtune_operator.reconcile.training import training_state
from ragtune_operator.render import training
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import AdapterResource, AdapterSpec
from ragtune_serving import local, raydashboard
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import connect

from .cluster import Cluster
from .conftest import Kube, OperatorProcess, kubectl, start_operator, stop_operator, wait_for

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
    kube: Kube, operator: OperatorProcess, ray_stack: Settings, tone_adapter: Path, tmp_path: Path
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

    # A bearer token from a Secret: from here on every call needs it, the operator's own too.
    _require_a_token(kube, ray_stack)

    # Milvus stopped: Ready=False saying so; started again: Ready, nothing lost.
    _outage_of_milvus(kube, ray_stack)

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
    with RagClient(ray_stack.address, timeout_s=60, token=TOKEN) as client:
        info = client.get_knowledge_base(f"{NAMESPACE}/{KB}")
    assert (info.settings.chunk_size, info.documents) == (32, 3)
    after = _kb_collections(ray_stack)
    assert after and not set(after) & set(collections)
    assert any(e["reason"] == "ReindexChange" for e in kube.events(NAMESPACE, KB))

    # An Evaluation of it runs `ragtune eval` in a Job; its summary lands in status.
    _evaluate_in_a_job(kube, ray_stack, tmp_path)

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


TOKEN = "handbook-e2e-token"


def _outage_of_milvus(kube: Kube, stack: Settings) -> None:
    pid_file = stack.home / "milvus.pid"
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    pid_file.unlink()
    try:
        ready = wait_for(
            lambda: (
                (found := kube.condition(NAMESPACE, KB, "Ready"))
                and found["status"] == "False"
                and found
            ),
            STEP_TIMEOUT_S,
            "Ready=False while Milvus is down",
        )
        assert "BackendUnavailable" in ready["message"] and "Milvus" in ready["message"]
    finally:
        local.start_milvus(stack)
    wait_for(
        lambda: _status(kube).get("phase") == "Ready" and _status(kube).get("documents") == 3,
        STEP_TIMEOUT_S,
        "Ready again with its 3 documents once Milvus is back",
    )


def _require_a_token(kube: Kube, stack: Settings) -> None:
    """access.tokenSecretRef set (its Secret first: a knowledge base whose Secret is missing
    is refused, never served open — a unit test of the plan covers that): calls without the
    token or with a wrong one are UNAUTHENTICATED, calls with it answer."""
    kube.core.create_namespaced_secret(
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "handbook-token", "namespace": NAMESPACE},
            # as `kubectl create secret --from-file` stores a file ending in a newline
            "data": {"token": base64.b64encode(f"{TOKEN}\n".encode()).decode()},
        },
    )
    kube.patch_spec(
        c.KNOWLEDGE_BASE_PLURAL,
        NAMESPACE,
        KB,
        {"access": {"tokenSecretRef": {"name": "handbook-token", "key": "token"}}},
    )
    question = pb.QueryRequest(
        knowledge_base=f"{NAMESPACE}/{KB}", question="What extension is the support desk?"
    )

    def refusal(token: str | None) -> grpc.StatusCode | None:
        with RagClient(stack.address, timeout_s=300, token=token) as client:
            try:
                client.query(question)
            except ClientError as error:
                return error.code
        return None

    wait_for(
        lambda: refusal(None) == grpc.StatusCode.UNAUTHENTICATED,
        STEP_TIMEOUT_S,
        "the gateway asking for the token",
    )
    assert refusal("wrong-" + TOKEN) == grpc.StatusCode.UNAUTHENTICATED
    assert refusal(TOKEN) is None
    wait_for(lambda: _status(kube).get("phase") == "Ready", STEP_TIMEOUT_S, "Ready with a token")


EVALUATION = "handbook-modes"
QUESTIONS = [
    {"question": "How many days of paid leave do staff receive per year?", "answer": "31",
     "documents": ["leave.md"]},
    {"question": "What extension is the support desk?", "answer": "4410", "documents": ["desk.md"]},
    {"question": "Who won the 1954 football world cup?"},
]  # fmt: skip


def _finish_job(kube: Kube, job: Any, message: str) -> None:
    """Play the Job controller and kubelet: the pod ends with `message`, the Job succeeds."""
    name = job.metadata.name
    (container,) = job.spec.template.spec.containers
    finished = datetime.now(UTC).isoformat()
    terminated = {"exitCode": 0, "message": message, "finishedAt": finished}
    kube.core.create_namespaced_pod(
        NAMESPACE,
        {
            "metadata": {"name": f"{name}-x", "labels": {"job-name": name}},
            "spec": {"containers": [{"name": container.name, "image": "x"}]},
            "status": {
                "containerStatuses": [
                    {
                        "name": container.name,
                        "image": "x",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": terminated},
                    }
                ]
            },
        },
    )
    batch = kubernetes.client.BatchV1Api(kube.api)
    batch.patch_namespaced_job_status(name, NAMESPACE, {"status": {"succeeded": 1}})


def _run_eval_job(kube: Kube, job: Any, work: Path) -> str:
    """Run the Job's `ragtune eval` here, as its pod would, against the real gateway: the
    questions from their ConfigMap, the output and the termination log in `work`. Returns
    what the pod's termination message would hold."""
    (container,) = job.spec.template.spec.containers
    volume = next(v for v in job.spec.template.spec.volumes if v.name == "questions")
    (item,) = volume.config_map.items
    questions = work / "questions.jsonl"
    questions.write_text(
        kube.core.read_namespaced_config_map(volume.config_map.name, NAMESPACE).data[item.key]
    )
    command = list(container.command)
    local = {
        "--questions": str(questions),
        "--out": str(work / "out"),
        "--summary": str(work / "termination-log"),
    }
    for flag, path in local.items():
        command[command.index(flag) + 1] = path
    command[0] = str(Path(sys.executable).parent / "ragtune")
    secrets = {}  # what the kubelet puts in the environment from Secrets
    for variable in container.env or []:
        ref = variable.value_from.secret_key_ref
        data = kube.core.read_namespaced_secret(ref.name, NAMESPACE).data
        secrets[variable.name] = base64.b64decode(data[ref.key]).decode()
    done = subprocess.run(
        command,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **secrets},
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return (work / "termination-log").read_text()


def _evaluation_status(kube: Kube, phase: str, generation: int) -> dict[str, Any] | None:
    status = (kube.get(c.EVALUATION_PLURAL, NAMESPACE, EVALUATION) or {}).get("status") or {}
    done = status.get("phase") == phase and status.get("observedGeneration") == generation
    return status if done else None


def _evaluate_in_a_job(kube: Kube, stack: Settings, work: Path) -> None:
    """An Evaluation, applied: a Job whose `ragtune eval` (run here for real) measures base
    against rag; status holds the winners and every mode's numbers, a ConfigMap the report;
    an edited spec runs again and rewrites the report; a finished one is not touched again."""
    batch = kubernetes.client.BatchV1Api(kube.api)

    def eval_job(generation: int) -> Any:
        status = _evaluation_status(kube, "Running", generation)
        return status and batch.read_namespaced_job(status["job"], NAMESPACE)

    kube.create(
        {
            "apiVersion": c.API_VERSION,
            "kind": c.EVALUATION_KIND,
            "metadata": {"name": EVALUATION, "namespace": NAMESPACE},
            "spec": {
                "knowledgeBase": KB,
                "modes": ["base", "rag"],
                "questions": {"inline": QUESTIONS},
                "maxTokens": 48,
            },
        }
    )
    job = wait_for(lambda: eval_job(1), STEP_TIMEOUT_S, "the evaluation Job")
    (container,) = job.spec.template.spec.containers
    assert container.command[:2] == ["ragtune", "eval"]
    assert container.command[container.command.index("--address") + 1] == stack.address
    _finish_job(kube, job, _run_eval_job(kube, job, work))

    status = wait_for(
        lambda: _evaluation_status(kube, "Succeeded", 1), STEP_TIMEOUT_S, "the evaluation done"
    )
    assert status["winners"]["quality"] == "rag"
    results = {row["mode"]: row for row in status["results"]}
    assert results["rag"]["correct"] > results["base"]["correct"]
    assert results["rag"]["hit"] >= 0.5 and results["base"]["hit"] is None
    assert results["rag"]["questions"] == 3
    assert status["recommendation"][0].startswith("Quality: rag")
    report = kube.core.read_namespaced_config_map(status["reportConfigMap"], NAMESPACE)
    text = report.data["report.md"]
    assert text.startswith(f"# Evaluation of {NAMESPACE}/{KB}")
    assert "3 questions in spec.questions.inline" in text
    assert "| rag |" in text and "- Quality: **rag**" in text
    assert (work / "out" / "results.json").exists()

    # A finished evaluation is left alone: nothing is written to it on later resyncs.
    version = kube.get(c.EVALUATION_PLURAL, NAMESPACE, EVALUATION)["metadata"]["resourceVersion"]
    time.sleep(5)  # two resync intervals
    assert kube.get(c.EVALUATION_PLURAL, NAMESPACE, EVALUATION)["metadata"]["resourceVersion"] == (
        version
    )

    # An edited spec runs anew, in a new Job, and rewrites the report.
    kube.patch_spec(c.EVALUATION_PLURAL, NAMESPACE, EVALUATION, {"maxQuestions": 1})
    again = wait_for(lambda: eval_job(2), STEP_TIMEOUT_S, "a second evaluation Job")
    assert again.metadata.name != job.metadata.name
    _finish_job(kube, again, _run_eval_job(kube, again, work))
    status = wait_for(
        lambda: _evaluation_status(kube, "Succeeded", 2), STEP_TIMEOUT_S, "the second run done"
    )
    assert {row["questions"] for row in status["results"]} == {1}
    rewritten = kube.core.read_namespaced_config_map(status["reportConfigMap"], NAMESPACE)
    assert rewritten.data["report.md"] != text
    shown = kubectl(
        kube.kubeconfig, "get", "rteval", EVALUATION, "-n", NAMESPACE, "-o", "yaml"
    ).stdout
    assert yaml.safe_load(shown)["status"]["winners"]["quality"] in ("base", "rag")
    kube.delete(c.EVALUATION_PLURAL, NAMESPACE, EVALUATION)


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
        lambda: next(
            (
                j
                for j in batch.list_namespaced_job(NAMESPACE).items
                if j.metadata.name.startswith("ragtune-train-")
            ),
            None,
        ),
        60,
        "the Job",
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
