"""Operator settings, read once from `RAGTUNE_OPERATOR_*` variables; each field documented."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ragtune_operator.conventions import GRPC_SERVICE_NAME
from ragtune_serving.serveconfig import METRICS_DIR
from ragtune_serving.settings import from_environment

ENV_PREFIX = "RAGTUNE_OPERATOR_"


class OperatorSettings(BaseModel):
    """Defaults the operator renders into every RayService and Serve config."""

    model_config = ConfigDict(frozen=True)

    milvus_uri: str = Field(
        default="http://milvus.ragtune-system:19530",
        description="RAGTUNE_OPERATOR_MILVUS_URI: Milvus for knowledge bases that name none.",
    )
    serving_image: str = Field(
        default="ghcr.io/ragtune/serving:0.1.0",
        description="RAGTUNE_OPERATOR_SERVING_IMAGE: image of Ray head and worker pods.",
    )
    ray_version: str = Field(
        default="2.60.0", description="RAGTUNE_OPERATOR_RAY_VERSION: Ray in that image."
    )
    grpc_port: int = Field(default=9000, description="RAGTUNE_OPERATOR_GRPC_PORT: gateway gRPC.")
    http_port: int = Field(default=8000, description="RAGTUNE_OPERATOR_HTTP_PORT: gateway HTTP.")
    head_cpu: str = Field(default="2", description="RAGTUNE_OPERATOR_HEAD_CPU: head pod CPUs.")
    head_memory: str = Field(default="8Gi", description="RAGTUNE_OPERATOR_HEAD_MEMORY.")
    worker_cpu: str = Field(default="4", description="RAGTUNE_OPERATOR_WORKER_CPU: per pod.")
    worker_memory: str = Field(default="16Gi", description="RAGTUNE_OPERATOR_WORKER_MEMORY.")
    gpu_worker_cpu: str = Field(default="8", description="RAGTUNE_OPERATOR_GPU_WORKER_CPU.")
    gpu_worker_memory: str = Field(
        default="48Gi", description="RAGTUNE_OPERATOR_GPU_WORKER_MEMORY."
    )
    direct_dashboard_url: str = Field(
        default="",
        description="RAGTUNE_OPERATOR_DIRECT_DASHBOARD_URL: direct mode — apply the Serve config "
        "to this existing Ray cluster's dashboard (http://host:8265) instead of creating a "
        "KubeRay RayService. Empty: KubeRay mode.",
    )
    gateway_url: str = Field(
        default="",
        description="RAGTUNE_OPERATOR_GATEWAY_URL: the serving gateway's HTTP address the "
        "operator ingests through; `{namespace}` is replaced. Empty: the gRPC Service's HTTP "
        "port in the namespace (KubeRay mode), the dashboard's host on http_port (direct mode).",
    )
    resync_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="RAGTUNE_OPERATOR_RESYNC_INTERVAL_S: how often each knowledge base's serving "
        "state, sources and status are re-checked (ConfigMap edits are picked up then).",
    )
    request_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="RAGTUNE_OPERATOR_REQUEST_TIMEOUT_S: one ingest request to the gateway.",
    )
    path_sources_root: str = Field(
        default="",
        description="RAGTUNE_OPERATOR_PATH_SOURCES_ROOT: the directory (mounted into the "
        "operator) under which KnowledgeBase `path` sources may read; empty refuses path "
        "sources, so a KnowledgeBase cannot read the operator's own files (its token).",
    )
    drop_retries: int = Field(
        default=30,
        ge=0,
        description="RAGTUNE_OPERATOR_DROP_RETRIES: attempts (every resync interval) to drop a "
        "deleted knowledge base's collection before the finalizer lets go and warns.",
    )

    artifacts_claim: str = Field(
        default="ragtune-artifacts",
        description="RAGTUNE_OPERATOR_ARTIFACTS_CLAIM: PersistentVolumeClaim (ReadWriteMany) "
        "that training Jobs write adapters to and serving pods read them from.",
    )
    artifacts_root: str = Field(
        default="/var/lib/ragtune/artifacts",
        pattern=r"^/",
        description="RAGTUNE_OPERATOR_ARTIFACTS_ROOT: where that claim is mounted; trained "
        "adapters go under <root>/adapters/<namespace>/<name>/<training digest>.",
    )
    training_cpu: str = Field(default="2", description="RAGTUNE_OPERATOR_TRAINING_CPU.")
    training_memory: str = Field(default="8Gi", description="RAGTUNE_OPERATOR_TRAINING_MEMORY.")
    training_backoff_limit: int = Field(
        default=2, ge=0, description="RAGTUNE_OPERATOR_TRAINING_BACKOFF_LIMIT: pod retries."
    )
    training_runner: Literal["auto", "job", "rayjob"] = Field(
        default="auto",
        description="RAGTUNE_OPERATOR_TRAINING_RUNNER: what runs `ragtune train` for an Adapter "
        "with `training` — a KubeRay `rayjob`, a plain batch/v1 `job`, or `auto`: a RayJob in "
        "KubeRay mode, a Job in direct mode (no KubeRay there).",
    )
    training_ttl_s: int = Field(
        default=600,
        ge=0,
        description="RAGTUNE_OPERATOR_TRAINING_TTL_S: how long a training RayJob's Ray cluster "
        "stays after the job finished (its submitter pod, which holds the metrics, with it).",
    )

    serving_metrics_dir: str = Field(
        default=METRICS_DIR,
        pattern=r"^/",
        description="RAGTUNE_OPERATOR_SERVING_METRICS_DIR: where serving processes write their "
        "Prometheus metrics. KubeRay mode mounts a volume there and runs the exporter beside "
        "Ray; in direct mode run `ragtune metrics-exporter --dir` on each Ray node.",
    )
    metrics_port: int = Field(
        default=9501,
        ge=0,
        description="RAGTUNE_OPERATOR_METRICS_PORT: the operator's own Prometheus endpoint "
        "(reconciles per kind); 0 turns it off.",
    )

    @property
    def direct(self) -> bool:
        """Direct mode: Serve config PUT to an existing Ray cluster, no RayService."""
        return bool(self.direct_dashboard_url)

    @property
    def trains_with_rayjob(self) -> bool:
        """Whether adapters train in a KubeRay RayJob rather than a plain Job."""
        if self.training_runner == "auto":
            return not self.direct
        return self.training_runner == "rayjob"

    def gateway_for(self, namespace: str) -> str:
        """The HTTP base URL of the gateway serving `namespace`."""
        if self.gateway_url:
            return self.gateway_url.replace("{namespace}", namespace).rstrip("/")
        if self.direct:
            host = urlsplit(self.direct_dashboard_url).hostname or "127.0.0.1"
            return f"http://{host}:{self.http_port}"
        return f"http://{GRPC_SERVICE_NAME}.{namespace}.svc:{self.http_port}"


def load_settings(environ: Mapping[str, str] | None = None) -> OperatorSettings:
    """Settings from `RAGTUNE_OPERATOR_*` variables (field name upper-cased), else defaults."""
    return from_environment(OperatorSettings, ENV_PREFIX, environ)
