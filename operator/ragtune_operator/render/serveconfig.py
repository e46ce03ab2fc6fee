"""A namespace's KnowledgeBases → one ragtune Serve application (its `AppArgs` and config).

One generator and one embedding model serve a namespace in this version: the knowledge base
first by name decides them, and a knowledge base that asks for others is refused with the
reason (reported in its status), while the rest keep serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import Generator, KnowledgeBaseResource
from ragtune_serving.config import (
    AppArgs,
    DeploymentsArgs,
    EmbeddingArgs,
    GeneratorArgs,
    KnowledgeBaseArgs,
    MilvusArgs,
)
from ragtune_serving.serveconfig import build_serve_config


@dataclass(frozen=True, slots=True)
class ServePlan:
    """What serves a namespace, and which knowledge bases it had to leave out (and why)."""

    args: AppArgs | None
    served: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)


def plan(knowledge_bases: Sequence[KnowledgeBaseResource], settings: OperatorSettings) -> ServePlan:
    """The Serve application for one namespace's knowledge bases."""
    ordered = sorted(knowledge_bases, key=lambda kb: kb.name)
    refused: dict[str, str] = {}
    candidates = []
    for kb in ordered:
        if kb.spec.generator.engine == "tensorrt-llm":
            refused[kb.name] = (
                "generator.engine tensorrt-llm is not available in this version; "
                "use auto or transformers"
            )
        else:
            candidates.append(kb)
    if not candidates:
        return ServePlan(args=None, served=(), refused=refused)

    lead = candidates[0]
    served = []
    for kb in candidates:
        reason = _conflict(kb, lead)
        if reason:
            refused[kb.name] = reason
        else:
            served.append(kb)

    generator = lead.spec.generator
    return ServePlan(
        args=AppArgs(
            milvus=MilvusArgs(uri=lead.spec.vector_store.uri or settings.milvus_uri),
            embedding=EmbeddingArgs(model=lead.spec.embedding.model),
            generator=GeneratorArgs(
                model=generator.model,
                device="cuda" if generator.gpus else "auto",
                max_tokens=generator.max_tokens,
                temperature=generator.temperature,
            ),
            knowledge_bases=tuple(_kb_args(kb) for kb in served),
            deployments=_deployments(generator),
        ),
        served=tuple(kb.name for kb in served),
        refused=refused,
    )


def serve_config(app: AppArgs, settings: OperatorSettings) -> dict[str, Any]:
    """The `serveConfigV2` document of a planned application."""
    return build_serve_config(
        app, grpc_port=settings.grpc_port, http_port=settings.http_port, http_host="0.0.0.0"
    )


def _conflict(kb: KnowledgeBaseResource, lead: KnowledgeBaseResource) -> str:
    pairs = [
        ("generator.model", kb.spec.generator.model, lead.spec.generator.model),
        ("embedding.model", kb.spec.embedding.model, lead.spec.embedding.model),
        ("vectorStore.uri", kb.spec.vector_store.uri, lead.spec.vector_store.uri),
        ("generator.gpus", kb.spec.generator.gpus, lead.spec.generator.gpus),
    ]
    for name, mine, theirs in pairs:
        if mine != theirs:
            return (
                f"{name} {mine!r} differs from {theirs!r} of knowledge base {lead.name}, which "
                "serves this namespace; one generator, embedding model and Milvus per namespace"
            )
    return ""


def _deployments(generator: Generator) -> DeploymentsArgs:
    """Replica resources on a cluster: CPU requests keep model replicas off the head (which
    offers no CPUs), and the generator asks Ray for the GPUs its knowledge base names."""
    defaults = DeploymentsArgs()
    return DeploymentsArgs(
        gateway=defaults.gateway.model_copy(update={"num_cpus": 0.1}),
        embedder=defaults.embedder.model_copy(update={"num_cpus": 1.0}),
        retriever=defaults.retriever.model_copy(update={"num_cpus": 0.5}),
        generator=defaults.generator.model_copy(
            update={
                "num_cpus": 1.0,
                "num_gpus": float(generator.gpus),
                "num_replicas": max(1, generator.replicas.min),
            }
        ),
    )


def _kb_args(kb: KnowledgeBaseResource) -> KnowledgeBaseArgs:
    spec = kb.spec
    return KnowledgeBaseArgs(
        namespace=kb.namespace,
        name=kb.name,
        chunk_size=spec.chunking.size,
        chunk_overlap=spec.chunking.overlap,
        hybrid=spec.vector_store.hybrid,
        top_k=spec.retrieval.top_k,
        score_threshold=spec.retrieval.score_threshold,
    )
