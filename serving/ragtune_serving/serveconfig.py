"""Build the Ray Serve config document (`serveConfigV2`) for one ragtune application.

One builder, three doors: the operator's RayService, direct mode (PUT to a Ray dashboard) and
`ragtune serve` all deploy what this pure function returns.

What may change under running replicas goes into a deployment's `user_config` (the generator's
and the reranker's adapters): Serve hands a changed `user_config` to `reconfigure()` instead of
restarting replicas, which a changed `args` would do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ragtune_serving.config import (
    AdapterArgs,
    AdaptersUserConfig,
    AppArgs,
    DeclaredAdapters,
    GatewayUserConfig,
    KnowledgeBaseAccess,
)

APP_IMPORT_PATH = "ragtune_serving.app:build_app"
GRPC_SERVICER_FUNCTIONS = (
    "ragtune_serving.grpcapi.servicer.add_rag_service",
    "grpc_health.v1.health_pb2_grpc.add_HealthServicer_to_server",
)
GENERATOR_DEPLOYMENT = "Generator"
RERANKER_DEPLOYMENT = "Reranker"
GATEWAY_DEPLOYMENT = "Gateway"
MODEL_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
# The application's processes write their Prometheus metrics here (prometheus-client's
# multiprocess mode); a node's `ragtune metrics-exporter` serves their sum on METRICS_PORT.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR = "/var/run/ragtune/metrics"
METRICS_PORT = 9500


def build_serve_config(
    args: AppArgs,
    *,
    adapters: Mapping[str, AdapterArgs] | None = None,
    declared: Mapping[str, DeclaredAdapters] | None = None,
    access: Mapping[str, KnowledgeBaseAccess] | None = None,
    app_name: str = "ragtune",
    grpc_port: int = 9000,
    http_port: int = 8000,
    http_host: str = "0.0.0.0",
    metrics_dir: str = METRICS_DIR,
) -> dict[str, Any]:
    """The `serveConfigV2` document serving `args` (and `adapters`) as application `app_name`.

    Rerank adapters go to the reranker's `user_config`, the others to the generator's; the
    knowledge bases' `declared` adapters and `access` ("ns/name" → ...) to the gateway's. All
    are always written, empty included, so that removing the last one reconfigures the replicas
    to none.
    The application's processes (only they: not Ray's own) record metrics under `metrics_dir`.
    """
    given = dict(adapters or {})
    gateway = GatewayUserConfig(knowledge_bases=dict(declared or {}), access=dict(access or {}))
    configs = {
        GENERATOR_DEPLOYMENT: {n: a for n, a in given.items() if a.purpose != "rerank"},
        RERANKER_DEPLOYMENT: {n: a for n, a in given.items() if a.purpose == "rerank"},
    }
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": http_host, "port": http_port},
        "grpc_options": {
            "port": grpc_port,
            "grpc_servicer_functions": list(GRPC_SERVICER_FUNCTIONS),
        },
        "applications": [
            {
                "name": app_name,
                "route_prefix": "/",
                "import_path": APP_IMPORT_PATH,
                "args": args.model_dump(mode="json"),
                "runtime_env": {"env_vars": {**MODEL_ENV, MULTIPROC_ENV: metrics_dir}},
                "deployments": [
                    {
                        "name": name,
                        "user_config": AdaptersUserConfig(adapters=chosen).model_dump(mode="json"),
                    }
                    for name, chosen in configs.items()
                ]
                + [{"name": GATEWAY_DEPLOYMENT, "user_config": gateway.model_dump(mode="json")}],
            }
        ],
    }
