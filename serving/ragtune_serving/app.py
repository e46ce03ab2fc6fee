"""The typed Serve application builder: the `import_path` every serve config names.

ragtune_serving.app:build_app   with   args: AppArgs
"""

from __future__ import annotations

from typing import Any

from ray.serve import Application
from ray.serve.deployment import Deployment

from ragtune_serving.config import AppArgs, DeploymentArgs
from ragtune_serving.deployments.embedder import Embedder
from ragtune_serving.deployments.gateway import Gateway
from ragtune_serving.deployments.generator import Generator
from ragtune_serving.deployments.reranker import Reranker
from ragtune_serving.deployments.retriever import Retriever


def _options(deployment: Deployment, args: DeploymentArgs) -> Deployment:
    actor: dict[str, Any] = {"num_cpus": args.num_cpus}
    if args.num_gpus:
        actor["num_gpus"] = args.num_gpus
    return deployment.options(
        num_replicas=args.num_replicas,
        max_ongoing_requests=args.max_ongoing_requests,
        max_queued_requests=args.max_queued_requests,
        ray_actor_options=actor,
        health_check_period_s=10,
        health_check_timeout_s=30,
    )


def build_app(args: AppArgs | dict[str, Any]) -> Application:
    """Gateway → (embedder, retriever, generator, reranker), sized by `args.deployments`."""
    if not isinstance(args, AppArgs):
        args = AppArgs.model_validate(args)
    sizes = args.deployments
    embedder = _options(Embedder, sizes.embedder).bind(args.embedding, args.torch_threads)
    retriever = _options(Retriever, sizes.retriever).bind(args, embedder)
    generator = _options(Generator, sizes.generator).bind(args.generator, args.torch_threads)
    reranker = _options(Reranker, sizes.reranker).bind(args.reranker, args.torch_threads)
    return _options(Gateway, sizes.gateway).bind(args, embedder, retriever, generator, reranker)
