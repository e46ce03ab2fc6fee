"""KubeRay mode: KnowledgeBases and Adapters applied through the Kubernetes API become the
RayService and Service a KubeRay cluster would run, and status tells the truth at every step.

No KubeRay runs here: where a test needs the RayService to be ready, it writes the status
KubeRay would write. No gateway answers either (its address is a closed port), which is what
status must then say.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from prometheus_server import dashboard_expressions, finite, prometheus
from ragtune_operator import conventions as c
from ragtune_operator import permissions
from ragtune_operator.settings import OperatorSettings
from ragtune_serving.config import PACKAGED_GENERATOR as MODEL
from ragtune_serving.config import AppArgs

from .cluster import Cluster
from .conftest import (
    EXAMPLES,
    Kube,
    OperatorProcess,
    free_port,
    kubectl,
    start_operator,
    stop_operator,
    wait_for,
)

KB = c.KNOWLEDGE_BASE_PLURAL
OPERATOR_DASHBOARD = (
    Path(__file__).resolve().parents[2] / "helm/ragtune/dashboards/ragtune-operator.json"
)


@pytest.fixture(scope="module")
def operator(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    env = {
        "RAGTUNE_OPERATOR_GATEWAY_URL": f"http://127.0.0.1:{free_port()}",
        "RAGTUNE_OPERATOR_DROP_RETRIES": "2",
    }
    cluster.api.operator_calls.clear()  # from here on, this module's operator's calls
    running = start_operator(cluster, tmp_path_factory.mktemp("operator"), env, [])
    try:
        yield running
    finally:
        stop_operator(running)
        print(running.output()[-20000:])


def _rayservice(kube: Kube, namespace: str) -> Any:
    return kube.get("rayservices", namespace, c.RAYSERVICE_NAME, group="ray.io")


def _service(kube: Kube, namespace: str) -> Any:
    """The namespace's gRPC Service, or None until the operator has created it."""
    found = kube.core.list_namespaced_service(namespace).items
    return next((s for s in found if s.metadata.name == c.GRPC_SERVICE_NAME), None)


def _served_args(kube: Kube, namespace: str) -> AppArgs:
    rayservice = _rayservice(kube, namespace)
    config = yaml.safe_load(rayservice["spec"]["serveConfigV2"])
    (application,) = config["applications"]
    return AppArgs.model_validate(application["args"])


def _served_names(kube: Kube, namespace: str) -> set[str]:
    return {kb.name for kb in _served_args(kube, namespace).knowledge_bases}


def _kb(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KNOWLEDGE_BASE_KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _adapter(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.ADAPTER_KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _mark_ready(kube: Kube, namespace: str) -> None:
    """What KubeRay writes once the Serve application runs."""
    kube.custom.patch_namespaced_custom_object_status(
        "ray.io",
        "v1",
        namespace,
        "rayservices",
        c.RAYSERVICE_NAME,
        {
            "status": {
                "serviceStatus": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        },
    )


INLINE = {"sources": [{"inline": [{"id": "a.md", "text": "Parcels leave from dock 7."}]}]}


def test_applied_examples_become_the_rayservice_a_kuberay_cluster_would_run(
    kube: Kube, operator: OperatorProcess
) -> None:
    kubectl(kube.kubeconfig, "apply", "--validate=false", "-f", str(EXAMPLES))
    rayservice = wait_for(lambda: _rayservice(kube, "default"), 30, "the RayService")
    kb = kube.kb("default", "handbook")

    # The Serve config is the one the pure render functions build from these resources.
    args = _served_args(kube, "default")
    assert [k.name for k in args.knowledge_bases] == ["handbook"]
    assert args.knowledge_bases[0].hybrid is True and args.knowledge_bases[0].top_k == 3
    assert args.generator.max_tokens == 128
    config = yaml.safe_load(rayservice["spec"]["serveConfigV2"])
    (application,) = config["applications"]
    generator, _reranker, _gateway = application["deployments"]
    # support-tone is still to be trained: nothing to load yet, so no adapter on the generator.
    assert generator == {"name": "Generator", "user_config": {"adapters": {}}}

    owners = rayservice["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [
        ("KnowledgeBase", "handbook", kb["metadata"]["uid"])
    ]
    groups = rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    assert [g["groupName"] for g in groups] == ["cpu"]
    service = wait_for(lambda: _service(kube, "default"), 30, "the gRPC Service")
    assert {p.name: p.port for p in service.spec.ports} == {"grpc": 9000, "http": 8000}

    # Status: pending on KubeRay, with a reason per condition, for generation 1.
    def pending() -> Any:
        status = (kube.kb("default", "handbook") or {}).get("status") or {}
        return status if status.get("phase") == "Pending" else None

    status = wait_for(pending, 30, "status phase Pending")
    by_type = {cond["type"]: cond for cond in status["conditions"]}
    assert by_type["Serving"]["status"] == "False"
    assert by_type["Serving"]["reason"] == "Deploying"
    assert by_type["Ready"]["status"] == "False"
    assert {cond["observedGeneration"] for cond in status["conditions"]} == {1}
    assert status["observedGeneration"] == 1
    assert status["endpoint"] == "ragtune-grpc.default.svc:9000"
    assert c.FINALIZER in kube.kb("default", "handbook")["metadata"]["finalizers"]

    # The training adapter got its Job and says so; kubectl shows the KB as stored.
    adapter = wait_for(
        lambda: (kube.get(c.ADAPTER_PLURAL, "default", "support-tone") or {}).get("status"),
        30,
        "adapter status",
    )
    assert adapter["phase"] in ("Pending", "Training")
    assert adapter["conditions"][0]["reason"] in ("JobPending", "Training")
    shown = yaml.safe_load(kubectl(kube.kubeconfig, "get", "kb", "handbook", "-o", "yaml").stdout)
    assert shown["status"]["phase"] == "Pending"

    # The example Evaluation waits for its knowledge base: no Job while that is not Ready.
    def evaluation_waiting() -> Any:
        found = kube.get(c.EVALUATION_PLURAL, "default", "handbook-modes") or {}
        conditions = (found.get("status") or {}).get("conditions") or []
        return found["status"] if conditions else None

    evaluation = wait_for(evaluation_waiting, 30, "the Evaluation's status")
    assert evaluation["phase"] == "Pending"
    (complete,) = evaluation["conditions"]
    assert (complete["type"], complete["status"]) == ("Complete", "Unknown")
    assert complete["reason"] == "WaitingForKnowledgeBase"
    assert "handbook is Pending" in complete["message"]
    batch = kubernetes.client.BatchV1Api(kube.api)
    assert not [j for j in batch.list_namespaced_job("default").items if "eval" in j.metadata.name]
    shown = kubectl(kube.kubeconfig, "get", "rteval", "handbook-modes", "-o", "yaml").stdout
    assert yaml.safe_load(shown)["status"]["phase"] == "Pending"


def test_kuberay_ready_moves_status_to_indexing_and_says_why_not_indexed(
    kube: Kube, operator: OperatorProcess
) -> None:
    kube.create(_kb("team-a", "docs", INLINE))
    wait_for(lambda: _rayservice(kube, "team-a"), 30, "the RayService")
    _mark_ready(kube, "team-a")

    def indexing() -> Any:
        status = (kube.kb("team-a", "docs") or {}).get("status") or {}
        return status if status.get("phase") == "Indexing" else None

    status = wait_for(indexing, 30, "phase Indexing")
    by_type = {cond["type"]: cond for cond in status["conditions"]}
    assert by_type["Serving"]["status"] == "True"
    assert by_type["Indexed"]["status"] == "False"
    assert by_type["Indexed"]["reason"] == "GatewayUnreachable"
    assert by_type["Ready"]["reason"] == "NotIndexed"


def test_spec_changes_are_classified_in_events_and_applied(
    kube: Kube, operator: OperatorProcess
) -> None:
    kube.create(_kb("team-c", "faq", INLINE))
    wait_for(lambda: _rayservice(kube, "team-c"), 30, "the RayService")

    kube.patch_spec(KB, "team-c", "faq", {"retrieval": {"topK": 5}})
    wait_for(
        lambda: _served_args(kube, "team-c").knowledge_bases[0].top_k == 5, 30, "topK in config"
    )
    event = wait_for(
        lambda: [e for e in kube.events("team-c", "faq") if e["reason"] == "InPlaceChange"],
        30,
        "an InPlaceChange event",
    )[0]
    assert "retrieval.topK" in event["message"]

    kube.patch_spec(KB, "team-c", "faq", {"generator": {"gpus": 1}})
    event = wait_for(
        lambda: [e for e in kube.events("team-c", "faq") if e["reason"] == "ClusterChange"],
        30,
        "a ClusterChange event",
    )[0]
    assert "generator.gpus" in event["message"] and "new Ray cluster" in event["message"]

    def gpu_group() -> Any:
        groups = _rayservice(kube, "team-c")["spec"]["rayClusterConfig"]["workerGroupSpecs"]
        return next((g for g in groups if g["groupName"] == "gpu"), None)

    group = wait_for(gpu_group, 30, "a GPU worker group")
    limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 1

    kube.patch_spec(KB, "team-c", "faq", {"chunking": {"size": 96}})
    wait_for(
        lambda: _served_args(kube, "team-c").knowledge_bases[0].chunk_size == 96,
        30,
        "the new chunk size in the Serve config",
    )
    wait_for(
        lambda: [e for e in kube.events("team-c", "faq") if e["reason"] == "ReindexChange"],
        30,
        "a ReindexChange event",
    )
    ready = wait_for(
        lambda: (
            kube.condition("team-c", "faq", "Ready")
            if ((kube.condition("team-c", "faq", "Ready") or {}).get("observedGeneration") == 4)
            else None
        ),
        30,
        "conditions for generation 4",
    )
    assert ready["status"] == "False"


def test_nothing_is_rewritten_when_nothing_changed(kube: Kube, operator: OperatorProcess) -> None:
    kube.create(_kb("team-a", "steady", INLINE))
    wait_for(lambda: "steady" in _served_names(kube, "team-a"), 30, "steady served")
    wait_for(
        lambda: (kube.kb("team-a", "steady") or {}).get("status", {}).get("phase"), 30, "status"
    )
    time.sleep(2)  # let the first passes settle
    before = _rayservice(kube, "team-a")["metadata"]["resourceVersion"]
    kb_before = kube.kb("team-a", "steady")["metadata"]["resourceVersion"]
    events_before = len(kube.events("team-a", "steady"))
    service = wait_for(lambda: _service(kube, "team-a"), 30, "the gRPC Service")
    time.sleep(4)  # four resync intervals of the operator, each one a full pass
    assert _rayservice(kube, "team-a")["metadata"]["resourceVersion"] == before
    assert kube.kb("team-a", "steady")["metadata"]["resourceVersion"] == kb_before
    assert len(kube.events("team-a", "steady")) == events_before
    again = kube.core.read_namespaced_service(c.GRPC_SERVICE_NAME, "team-a")
    assert again.metadata.resource_version == service.metadata.resource_version


@pytest.mark.parametrize(
    ("spec", "adapters", "expected"),
    [
        ({"generator": {"adapterRef": "ghost"}}, [], "adapter 'ghost', which does not exist"),
        (
            {"retrieval": {"rerankAdapterRef": "tone"}},
            [("tone", {"baseModel": "m", "purpose": "generation", "source": {"path": "/a"}})],
            "it needs a 'rerank' adapter",
        ),
        (
            {"generator": {"adapterRef": "other-base"}},
            [("other-base", {"baseModel": "hub/other-model", "source": {"path": "/a"}})],
            "made for base model 'hub/other-model'",
        ),
        ({"generator": {"engine": "tensorrt-llm"}}, [], "generator.engine 'tensorrt-llm' differs"),
        ({"embedding": {"model": "hub/other-embedder"}}, [], "embedding.model"),
    ],
    ids=["missing-adapter", "wrong-purpose", "base-model-mismatch", "engine", "embedding-conflict"],
)
def test_unservable_specs_are_reported_and_others_keep_serving(
    kube: Kube,
    operator: OperatorProcess,
    spec: dict[str, Any],
    adapters: list[tuple[str, dict[str, Any]]],
    expected: str,
    request: pytest.FixtureRequest,
) -> None:
    namespace = "team-b"
    if kube.kb(namespace, "anchor") is None:
        kube.create(_kb(namespace, "anchor", INLINE))
    for name, adapter_spec in adapters:
        if kube.get(c.ADAPTER_PLURAL, namespace, name) is None:
            kube.create(_adapter(namespace, name, adapter_spec))
    name = f"bad-{request.node.callspec.id}"
    kube.create(_kb(namespace, name, {**INLINE, **spec}))

    ready = wait_for(
        lambda: (
            (kube.condition(namespace, name, "Ready") or {}).get("reason") == "Refused"
            and kube.condition(namespace, name, "Ready")
        ),
        30,
        "Ready=False Refused",
    )
    assert ready["status"] == "False" and expected in ready["message"]
    assert kube.kb(namespace, name)["status"]["phase"] == "Failed"
    warnings = wait_for(
        lambda: [e for e in kube.events(namespace, name) if e["type"] == "Warning"],
        30,
        "a Warning event",
    )
    assert expected in warnings[0]["message"]
    wait_for(
        lambda: _rayservice(kube, namespace) and "anchor" in _served_names(kube, namespace),
        30,
        "the other knowledge base served",
    )
    assert name not in _served_names(kube, namespace)


def test_a_missing_adapter_created_later_is_loaded_through_user_config(
    kube: Kube, operator: OperatorProcess, tmp_path: Path
) -> None:
    namespace = "team-b"
    model = AppArgs().generator.model  # the generator every knowledge base here defaults to
    kube.create(_kb(namespace, "toned", {**INLINE, "generator": {"adapterRef": "late"}}))
    wait_for(
        lambda: (kube.condition(namespace, "toned", "Ready") or {}).get("reason") == "Refused",
        30,
        "refused while the adapter is missing",
    )
    kube.create(
        _adapter(namespace, "late", {"baseModel": model, "source": {"path": str(tmp_path)}})
    )
    wait_for(lambda: "toned" in _served_names(kube, namespace), 30, "served once it exists")
    config = yaml.safe_load(_rayservice(kube, namespace)["spec"]["serveConfigV2"])
    generator, _reranker, _gateway = config["applications"][0]["deployments"]
    assert generator["user_config"]["adapters"]["late"]["path"] == str(tmp_path)


def test_a_token_secret_reaches_the_rayservice_as_a_digest_and_a_missing_one_refuses(
    kube: Kube, operator: OperatorProcess
) -> None:
    """access.tokenSecretRef: refused while its Secret is missing (never served open); once
    the Secret exists the gateway's user_config holds the token's digest, never the token."""
    namespace, token = "team-b", "kuberay-e2e-token"
    access = {"access": {"tokenSecretRef": {"name": "guarded-token", "key": "token"}}}
    kube.create(_kb(namespace, "guarded", {**INLINE, **access}))
    refused = wait_for(
        lambda: (
            (kube.condition(namespace, "guarded", "Ready") or {}).get("reason") == "Refused"
            and kube.condition(namespace, "guarded", "Ready")
        ),
        30,
        "refused while its Secret is missing",
    )
    assert (
        "Secret 'guarded-token' in namespace team-b has no non-empty key 'token'"
        in (refused["message"])
    )
    kube.core.create_namespaced_secret(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "guarded-token", "namespace": namespace},
            "data": {"token": base64.b64encode(token.encode()).decode()},
        },
    )
    wait_for(
        lambda: _rayservice(kube, namespace) and "guarded" in _served_names(kube, namespace),
        30,
        "served once its Secret exists",
    )
    text = _rayservice(kube, namespace)["spec"]["serveConfigV2"]
    _generator, _reranker, gateway = yaml.safe_load(text)["applications"][0]["deployments"]
    assert gateway["user_config"]["access"] == {
        f"{namespace}/guarded": {"token_sha256": hashlib.sha256(token.encode()).hexdigest()}
    }
    assert token not in text


def test_deletion_honours_retain_policy_and_removes_serving_with_the_last(
    kube: Kube, operator: OperatorProcess
) -> None:
    namespace = "team-d"
    kube.create(_kb(namespace, "faq", INLINE))
    kube.create(_kb(namespace, "kept", {**INLINE, "retainPolicy": "Retain"}))
    wait_for(lambda: _rayservice(kube, namespace), 30, "the RayService")
    wait_for(lambda: _served_names(kube, namespace) == {"faq", "kept"}, 30, "both served")

    kube.delete(KB, namespace, "kept")
    wait_for(lambda: kube.kb(namespace, "kept") is None, 30, "kept deleted")
    wait_for(
        lambda: any(e["reason"] == "Retained" for e in kube.events(namespace, "kept")),
        30,
        "a Retained event",
    )
    wait_for(lambda: "kept" not in _served_names(kube, namespace), 30, "kept no longer served")

    # A knowledge base that was indexed keeps its finalizer while the collection cannot be
    # dropped (no gateway answers here), then lets go with a warning after the retries.
    kube.custom.patch_namespaced_custom_object_status(
        c.GROUP, c.VERSION, namespace, KB, "faq", {"status": {"indexedDigest": "abc"}}
    )
    kube.delete(KB, namespace, "faq")
    wait_for(lambda: kube.kb(namespace, "faq") is None, 60, "faq deleted after the retries")
    wait_for(
        lambda: any(e["reason"] == "CollectionLeft" for e in kube.events(namespace, "faq")),
        30,
        "a CollectionLeft warning",
    )
    wait_for(lambda: _rayservice(kube, namespace) is None, 30, "the RayService removed")
    wait_for(lambda: _service(kube, namespace) is None, 30, "the Service removed")


def test_a_training_adapter_runs_a_rayjob_and_is_served_once_it_succeeds(
    kube: Kube, operator: OperatorProcess
) -> None:
    """The emulator has no KubeRay, Job controller or kubelet: the test plays them, writing the
    RayJob's status and its submitter pod's termination message as they would (the submitter
    script and the training run for real in tests/e2e/test_operator_direct.py)."""
    kube.create(_kb("team-t", "docs", {**INLINE, "generator": {"adapterRef": "tone"}}))
    dataset = {"configMap": {"name": "tone-data", "key": "train.jsonl"}}
    kube.create(
        {
            "apiVersion": c.API_VERSION,
            "kind": "Adapter",
            "metadata": {"name": "tone", "namespace": "team-t"},
            "spec": {"baseModel": MODEL, "training": {"datasetRef": dataset, "epochs": 2}},
        }
    )

    def rayjob() -> Any:
        jobs = kube.custom.list_namespaced_custom_object("ray.io", "v1", "team-t", "rayjobs")
        return jobs["items"][0] if jobs["items"] else None

    created = wait_for(rayjob, 30, "the training RayJob")
    entrypoint = shlex.split(created["spec"]["entrypoint"])
    assert entrypoint[:2] == ["ragtune", "train"]
    assert entrypoint[entrypoint.index("--epochs") + 1] == "2"
    out = entrypoint[entrypoint.index("--out") + 1]
    assert created["metadata"]["ownerReferences"][0]["kind"] == "Adapter"
    batch = kubernetes.client.BatchV1Api(kube.api)
    assert batch.list_namespaced_job("team-t").items == []  # KubeRay mode: no plain Job
    name = created["metadata"]["name"]

    def set_status(status: dict[str, Any]) -> None:
        kube.custom.patch_namespaced_custom_object_status(
            "ray.io", "v1", "team-t", "rayjobs", name, {"status": status}
        )

    set_status({"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"})
    wait_for(lambda: _adapter_phase(kube, "team-t", "tone") == "Training", 30, "phase Training")
    assert _generator_adapters(kube, "team-t") == {}  # nothing to load while it trains

    # The Ray job succeeds; the submitter pod (of the Job KubeRay names after the RayJob)
    # copied the metrics into its termination message.
    kube.core.create_namespaced_pod(
        "team-t",
        {
            "metadata": {"name": f"{name}-abcde", "labels": {"job-name": name}},
            "spec": {"containers": [{"name": "submit", "image": "x"}]},
            "status": {
                "containerStatuses": [
                    {
                        "name": "submit",
                        "image": "x",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {
                            "terminated": {
                                "exitCode": 0,
                                "message": json.dumps({"final_loss": 0.21, "skipped_lines": 1}),
                            }
                        },
                    }
                ]
            },
        },
    )
    set_status({"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"})
    status = wait_for(
        lambda: (
            (kube.get(c.ADAPTER_PLURAL, "team-t", "tone") or {}).get("status", {}).get("artifact")
            and kube.get(c.ADAPTER_PLURAL, "team-t", "tone")["status"]
        ),
        30,
        "the trained artifact in status",
    )
    assert status["artifact"] == out and status["finalLoss"] == 0.21
    assert "final loss 0.2100; 1 dataset lines skipped" in status["conditions"][0]["message"]
    # ... and the generator is told to load it (Ready waits for a probe on a real replica).
    adapters = wait_for(lambda: _generator_adapters(kube, "team-t") or None, 60, "hot-load")
    assert adapters["tone"]["path"] == out

    # A finished RayJob may be cleaned up: the recorded training stands, nothing trains again.
    kube.custom.delete_namespaced_custom_object("ray.io", "v1", "team-t", "rayjobs", name)
    time.sleep(3)  # three resync intervals of the operator (1 s in these tests)
    assert rayjob() is None
    after = kube.get(c.ADAPTER_PLURAL, "team-t", "tone")["status"]
    assert (after["artifact"], after["finalLoss"], after["datasetLinesSkipped"]) == (out, 0.21, 1)


def _adapter_phase(kube: Kube, namespace: str, name: str) -> str | None:
    phase: str | None = (
        (kube.get(c.ADAPTER_PLURAL, namespace, name) or {}).get("status") or {}
    ).get("phase")
    return phase


def _generator_adapters(kube: Kube, namespace: str) -> dict[str, Any]:
    service = _rayservice(kube, namespace)
    if service is None:
        return {}
    (application,) = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"]
    generator = next(d for d in application["deployments"] if d["name"] == "Generator")
    adapters: dict[str, Any] = generator["user_config"]["adapters"]
    return adapters


def test_the_operator_dashboard_has_data_in_a_real_prometheus(
    operator: OperatorProcess, tmp_path: Path
) -> None:
    """Reconciles per kind, their errors and latency, scraped from the running operator."""
    with prometheus([f"127.0.0.1:{operator.metrics_port}"], tmp_path / "prometheus") as server:
        server.wait_scraped(3)
        for title, expression in dashboard_expressions(OPERATOR_DASHBOARD, {}):
            values = server.values(expression)
            assert finite(values), f"panel {title!r}: no data from {expression}: {values}"
        kinds = {
            s["metric"]["kind"]
            for s in server.query("sum by (kind) (ragtune_operator_reconciles_total)")
        }
    assert kinds == {c.KNOWLEDGE_BASE_KIND, c.ADAPTER_KIND, c.EVALUATION_KIND}


def test_the_operator_called_exactly_what_the_charts_rbac_grants(cluster: Cluster) -> None:
    """Every API call this module's operator made (kopf's and its own, told apart by user
    agent) is one the operator's permission list names, and it made every one of them: the
    chart grants that list (tests/unit/test_helm_chart.py), so nothing more, nothing less.
    Last in the module, after the tests that drive every call. No knowledge base serves
    here, so no evaluation starts: creating its Job and report are the direct mode module's
    to show (the same in both modes)."""
    needed = permissions.required(OperatorSettings(), clusterwide=True)
    calls = cluster.api.operator_calls
    made = {(call.group, call.resource, call.verb) for call in calls}
    assert made <= permissions.as_rules(needed)
    assert permissions.as_rules(needed) - made == {
        ("batch", "jobs", "create"),
        ("", "configmaps", "create"),
        ("", "configmaps", "patch"),
    }
    cluster_scoped = {(p.group, p.resource) for p in needed if p.cluster}
    for call in cluster.api.operator_calls:
        assert call.namespaced or (call.group, call.resource) in cluster_scoped, call
