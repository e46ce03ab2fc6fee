"""The KubeRay `RayService` (ray.io/v1) that runs a namespace's Serve application, and the
`Service` that exposes its gRPC gateway.

Head group (no model replicas: `num-cpus: 0`), a CPU worker group, and a GPU worker group with
`nvidia.com/gpu` limits, nodeSelector and tolerations when a generator asks for GPUs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import yaml

from ragtune_operator import conventions as c
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import Generator, KnowledgeBaseResource
from ragtune_serving.serveconfig import METRICS_DIR, METRICS_PORT

RAY_PORTS = [
    {"name": "gcs", "containerPort": 6379},
    {"name": "dashboard", "containerPort": 8265},
    {"name": "client", "containerPort": 10001},
]


def labels(namespace: str) -> dict[str, str]:
    return {
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.INSTANCE_LABEL: f"ragtune-{namespace}",
        "app.kubernetes.io/name": "ragtune",
    }


def owner_references(knowledge_bases: Sequence[KnowledgeBaseResource]) -> list[dict[str, Any]]:
    """Every knowledge base owns the namespace's app: it goes when the last one goes."""
    return [
        {
            "apiVersion": c.API_VERSION,
            "kind": c.KNOWLEDGE_BASE_KIND,
            "name": kb.name,
            "uid": kb.uid,
            "blockOwnerDeletion": True,
            "controller": False,
        }
        for kb in sorted(knowledge_bases, key=lambda kb: kb.name)
    ]


def spec_hash(document: dict[str, Any]) -> str:
    """A stable digest of a rendered object, stored in an annotation to skip no-op writes."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


def rayservice(
    namespace: str,
    serve_config: dict[str, Any],
    generator: Generator,
    knowledge_bases: Sequence[KnowledgeBaseResource],
    settings: OperatorSettings,
    *,
    mount_artifacts: bool = False,
) -> dict[str, Any]:
    """The RayService manifest; its pods mount the artifacts claim (read-only) when
    `mount_artifacts` (trained adapters are served)."""
    groups = [
        _worker_group(
            "cpu",
            namespace,
            settings,
            mount_artifacts,
            cpu=settings.worker_cpu,
            memory=settings.worker_memory,
            replicas=max(1, generator.replicas.min),
            max_replicas=max(1, generator.replicas.max),
        )
    ]
    if generator.gpus:
        groups.append(
            _worker_group(
                "gpu",
                namespace,
                settings,
                mount_artifacts,
                cpu=settings.gpu_worker_cpu,
                memory=settings.gpu_worker_memory,
                replicas=generator.replicas.min,
                max_replicas=generator.replicas.max,
                gpus=generator.gpus,
                node_selector=dict(generator.node_selector),
                tolerations=[
                    t.model_dump(by_alias=True, exclude_none=True) for t in generator.tolerations
                ],
            )
        )
    spec = {
        "serveConfigV2": yaml.safe_dump(serve_config, sort_keys=False),
        "rayClusterConfig": {
            "rayVersion": settings.ray_version,
            "enableInTreeAutoscaling": True,
            "headGroupSpec": {
                "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
                "template": _pod(
                    namespace,
                    settings,
                    mount_artifacts,
                    "head",
                    cpu=settings.head_cpu,
                    memory=settings.head_memory,
                    ports=[
                        *RAY_PORTS,
                        {"name": "serve", "containerPort": settings.http_port},
                        {"name": "grpc", "containerPort": settings.grpc_port},
                    ],
                ),
            },
            "workerGroupSpecs": groups,
        },
    }
    metadata = _metadata(c.RAYSERVICE_NAME, namespace, knowledge_bases, spec)
    return {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": metadata, "spec": spec}


def grpc_service(
    namespace: str,
    knowledge_bases: Sequence[KnowledgeBaseResource],
    settings: OperatorSettings,
) -> dict[str, Any]:
    """A ClusterIP Service in front of the pods whose Serve proxy is ready (KubeRay marks them)."""
    spec = {
        "type": "ClusterIP",
        "selector": {c.INSTANCE_LABEL: f"ragtune-{namespace}", "ray.io/serve": "true"},
        "ports": [
            {
                "name": "grpc",
                "port": settings.grpc_port,
                "targetPort": settings.grpc_port,
                "appProtocol": "grpc",
            },
            {"name": "http", "port": settings.http_port, "targetPort": settings.http_port},
        ],
    }
    metadata = _metadata(c.GRPC_SERVICE_NAME, namespace, knowledge_bases, spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


def endpoint(namespace: str, settings: OperatorSettings) -> str:
    """The in-cluster gRPC address clients use."""
    return f"{c.GRPC_SERVICE_NAME}.{namespace}.svc:{settings.grpc_port}"


def _metadata(
    name: str,
    namespace: str,
    knowledge_bases: Sequence[KnowledgeBaseResource],
    spec: dict[str, Any],
) -> dict[str, Any]:
    """Name, labels, owners and the hash every object the operator renders carries (of the
    spec, labels and owners: a new owning knowledge base is a change to write)."""
    owners = owner_references(knowledge_bases)
    digest = spec_hash({"spec": spec, "labels": labels(namespace), "owners": owners})
    return {
        "name": name,
        "namespace": namespace,
        "labels": labels(namespace),
        "ownerReferences": owners,
        "annotations": {c.SPEC_HASH_ANNOTATION: digest},
    }


def _worker_group(
    group: str,
    namespace: str,
    settings: OperatorSettings,
    mount_artifacts: bool,
    *,
    cpu: str,
    memory: str,
    replicas: int,
    max_replicas: int,
    gpus: int = 0,
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    template = _pod(namespace, settings, mount_artifacts, group, cpu=cpu, memory=memory, gpus=gpus)
    if node_selector:
        template["spec"]["nodeSelector"] = node_selector
    if tolerations:
        template["spec"]["tolerations"] = tolerations
    return {
        "groupName": group,
        "replicas": replicas,
        "minReplicas": replicas,
        "maxReplicas": max(replicas, max_replicas),
        "rayStartParams": {},
        "template": template,
    }


def _pod(
    namespace: str,
    settings: OperatorSettings,
    mount_artifacts: bool,
    component: str,
    *,
    cpu: str,
    memory: str,
    gpus: int = 0,
    ports: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    limits: dict[str, Any] = {"cpu": cpu, "memory": memory}
    if gpus:
        limits["nvidia.com/gpu"] = gpus
    container: dict[str, Any] = {
        "name": "ray-head" if component == "head" else "ray-worker",
        "image": settings.serving_image,
        "env": [{"name": "HF_HUB_OFFLINE", "value": "1"}],
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": limits},
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
    }
    if ports:
        container["ports"] = ports
    # Trained adapters are read from the volume the training Jobs write them to; the serving
    # processes write their metrics to the pod's metrics volume.
    metrics = {"name": "metrics", "mountPath": METRICS_DIR}
    container["volumeMounts"] = [metrics]
    volumes: list[dict[str, Any]] = [{"name": "metrics", "emptyDir": {}}]
    if mount_artifacts:
        claim = {"claimName": settings.artifacts_claim, "readOnly": True}
        volumes.append({"name": "artifacts", "persistentVolumeClaim": claim})
        container["volumeMounts"].append(
            {"name": "artifacts", "mountPath": settings.artifacts_root, "readOnly": True}
        )
    return {
        "metadata": {"labels": {**labels(namespace), c.COMPONENT_LABEL: f"ray-{component}"}},
        "spec": {
            # The exporter drops the queue-depth gauges of exited replicas: it must see their
            # process ids.
            "shareProcessNamespace": True,
            "containers": [container, _metrics_exporter(settings, dict(metrics))],
            "volumes": volumes,
        },
    }


def _metrics_exporter(settings: OperatorSettings, mount: dict[str, Any]) -> dict[str, Any]:
    """The sidecar serving the pod's serving metrics to Prometheus on port `metrics`."""
    return {
        "name": "metrics",
        "image": settings.serving_image,
        "command": ["ragtune", "metrics-exporter", "--dir", METRICS_DIR],
        "args": ["--port", str(METRICS_PORT)],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/metrics", "port": "metrics"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
        },
        "volumeMounts": [mount],
    }
