"""Process settings of the `ragtune` command and the local stack, read once from the environment.

Every `RAGTUNE_*` variable is read here and nowhere else; `from_environment` is the reader the
operator's settings share. Each field documents its variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "RAGTUNE_"
M = TypeVar("M", bound=BaseModel)


class Settings(BaseModel):
    """Where the local stack keeps its data, which ports it uses, where clients connect."""

    model_config = ConfigDict(frozen=True)

    home: Path = Field(
        default=Path(".ragtune"),
        description="RAGTUNE_HOME: data, logs and pid files of the local stack.",
    )
    address: str = Field(
        default="127.0.0.1:9000",
        description="RAGTUNE_ADDRESS: host:port of the gRPC gateway that clients call.",
    )
    token: str = Field(
        default="",
        description="RAGTUNE_TOKEN: bearer token the CLI sends with every call (for knowledge "
        "bases that require one).",
    )
    grpc_port: int = Field(default=9000, description="RAGTUNE_GRPC_PORT: Serve's gRPC proxy port.")
    http_port: int = Field(default=8000, description="RAGTUNE_HTTP_PORT: Serve's HTTP proxy port.")
    ray_port: int = Field(default=6380, description="RAGTUNE_RAY_PORT: the local Ray head's GCS.")
    dashboard_port: int = Field(
        default=8265, description="RAGTUNE_DASHBOARD_PORT: Ray dashboard (Serve REST API)."
    )
    milvus_port: int = Field(
        default=19530, description="RAGTUNE_MILVUS_PORT: the local Milvus Lite server's port."
    )
    metrics_port: int = Field(
        default=9500,
        description="RAGTUNE_METRICS_PORT: the local metrics exporter's Prometheus endpoint "
        "(http://127.0.0.1:PORT/metrics).",
    )
    milvus_uri: str = Field(
        default="",
        description="RAGTUNE_MILVUS_URI: an external Milvus (http://host:19530); empty starts "
        "a local Milvus Lite server.",
    )
    milvus_token: str = Field(default="", description="RAGTUNE_MILVUS_TOKEN: Milvus credentials.")
    num_cpus: int = Field(
        default=0, description="RAGTUNE_NUM_CPUS: CPUs the local Ray head offers; 0 = all."
    )
    start_timeout_s: float = Field(
        default=600.0, description="RAGTUNE_START_TIMEOUT_S: how long `serve` waits to be up."
    )

    @property
    def effective_milvus_uri(self) -> str:
        """The Milvus every replica connects to."""
        return self.milvus_uri or f"http://127.0.0.1:{self.milvus_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"


def from_environment(model: type[M], prefix: str, environ: Mapping[str, str] | None = None) -> M:
    """`model` from `<prefix><FIELD NAME>` variables, its defaults for the rest."""
    env = os.environ if environ is None else environ
    values = {
        name: env[prefix + name.upper()]
        for name in model.model_fields
        if prefix + name.upper() in env
    }
    return model.model_validate(values)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `RAGTUNE_*` variables (field name upper-cased), defaults otherwise."""
    return from_environment(Settings, ENV_PREFIX, environ)
