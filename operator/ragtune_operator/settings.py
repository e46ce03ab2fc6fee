"""Operator settings, read once from `RAGTUNE_OPERATOR_*` variables; each field documented."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

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


def load_settings(environ: Mapping[str, str] | None = None) -> OperatorSettings:
    """Settings from `RAGTUNE_OPERATOR_*` variables (field name upper-cased), else defaults."""
    return from_environment(OperatorSettings, ENV_PREFIX, environ)
