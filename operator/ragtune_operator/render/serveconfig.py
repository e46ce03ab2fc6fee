"""A namespace's KnowledgeBases and Adapters → one ragtune Serve application.

One generator and one embedding model serve a namespace in this version: the knowledge base
first by name decides them, and a knowledge base that asks for others is refused with the
reason (reported in its status), while the rest keep serving. So is a knowledge base whose
adapter references cannot be honoured (missing adapter, wrong purpose, other base model).
The adapters the served knowledge bases use go to the generator's `user_config`, so changing
them reconfigures running replicas instead of restarting them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import AdapterResource, Generator, KnowledgeBaseResource
from ragtune_serving.config import (
    AdapterArgs,
    AppArgs,
    DeclaredAdapters,
    DeploymentsArgs,
    EmbeddingArgs,
    GeneratorArgs,
    KnowledgeBaseAccess,
    KnowledgeBaseArgs,
    MilvusArgs,
)
from ragtune_serving.engines.adapters import GENERATOR_PURPOSES
from ragtune_serving.serveconfig import build_serve_config


@dataclass(frozen=True, slots=True)
class ServePlan:
    """What serves a namespace, and which knowledge bases it had to leave out (and why)."""

    args: AppArgs | None
    served: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)
    adapters: dict[str, AdapterArgs] = field(default_factory=dict)
    """The generator's and reranker's adapters (their `user_config`s): those the served
    knowledge bases use."""
    declared: dict[str, DeclaredAdapters] = field(default_factory=dict)
    """"namespace/name" → the adapters that knowledge base declares (the gateway's
    `user_config`)."""
    access: dict[str, KnowledgeBaseAccess] = field(default_factory=dict)
    """"namespace/name" → the bearer token a served knowledge base requires (the gateway's
    `user_config`)."""
    uses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Served knowledge base → the adapters it references."""
    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Served knowledge base → referenced adapters with nothing to load yet (no source
    directory: still to be trained). It answers without them until they have one."""
    needs_artifacts: bool = False
    """Whether a referenced adapter is (or will be, once trained) on the artifacts volume:
    the serving pods mount it then, and only then (a namespace without one needs no claim)."""


# (KnowledgeBase field, the purpose an adapter named there must have)
ADAPTER_REFS = (
    ("generator.adapterRef", "generation"),
    ("retrieval.queryRewriteAdapterRef", "query-rewrite"),
    ("retrieval.rerankAdapterRef", "rerank"),
)


def adapter_refs(kb: KnowledgeBaseResource) -> dict[str, str]:
    """KnowledgeBase field → the adapter it names (only the fields that are set)."""
    values = {
        "generator.adapterRef": kb.spec.generator.adapter_ref,
        "retrieval.queryRewriteAdapterRef": kb.spec.retrieval.query_rewrite_adapter_ref,
        "retrieval.rerankAdapterRef": kb.spec.retrieval.rerank_adapter_ref,
    }
    return {name: ref for name, ref in values.items() if ref}


def plan(
    knowledge_bases: Sequence[KnowledgeBaseResource],
    settings: OperatorSettings,
    adapters: Sequence[AdapterResource] = (),
    access: Mapping[str, KnowledgeBaseAccess] | None = None,
) -> ServePlan:
    """The Serve application for one namespace's knowledge bases and adapters. `access`:
    knowledge base name → the token its `access.tokenSecretRef` holds, as read from the
    Secret; one that names a Secret but has no entry here is refused, never served open."""
    ordered = sorted(knowledge_bases, key=lambda kb: kb.name)
    by_name = {a.name: a for a in adapters}
    tokens = dict(access or {})
    refused: dict[str, str] = {}
    candidates = []
    for kb in ordered:
        reason = _unservable(kb, by_name, tokens)
        if reason:
            refused[kb.name] = reason
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
    uses = {kb.name: tuple(sorted(set(adapter_refs(kb).values()))) for kb in served}
    unloadable = {a.name for a in adapters if a.artifact is None}
    pending = {kb: tuple(n for n in names if n in unloadable) for kb, names in uses.items()}
    referenced = {name for names in uses.values() for name in names}
    loadable = sorted(referenced - unloadable)
    root = settings.artifacts_root.rstrip("/") + "/"
    needs_artifacts = any(
        by_name[name].spec.training is not None or (by_name[name].artifact or "").startswith(root)
        for name in referenced
        if name in by_name
    )
    return ServePlan(
        args=AppArgs(
            milvus=MilvusArgs(uri=lead.spec.vector_store.uri or settings.milvus_uri),
            embedding=EmbeddingArgs(model=lead.spec.embedding.model),
            generator=GeneratorArgs(
                engine=generator.engine,
                model=generator.model,
                device="cuda" if generator.gpus else "auto",
                max_tokens=generator.max_tokens,
                temperature=generator.temperature,
                max_batch_size=generator.max_batch_size,
                kv_cache_memory_fraction=generator.kv_cache_memory_fraction,
            ),
            knowledge_bases=tuple(_kb_args(kb) for kb in served),
            deployments=DeploymentsArgs() if settings.direct else _deployments(generator),
        ),
        served=tuple(kb.name for kb in served),
        refused=refused,
        adapters={name: _adapter_args(by_name[name]) for name in loadable},
        declared={
            f"{kb.namespace}/{kb.name}": _declared(kb, unloadable)
            for kb in served
            if adapter_refs(kb)
        },
        access={
            f"{kb.namespace}/{kb.name}": tokens[kb.name]
            for kb in served
            if kb.spec.access.token_secret_ref is not None
        },
        uses=uses,
        pending={kb: names for kb, names in pending.items() if names},
        needs_artifacts=needs_artifacts,
    )


def serve_config(served: ServePlan, settings: OperatorSettings) -> dict[str, Any]:
    """The `serveConfigV2` document of a planned application (one that serves something)."""
    if served.args is None:
        raise ValueError("nothing to serve: every knowledge base was refused")
    return build_serve_config(
        served.args,
        adapters=served.adapters,
        declared=served.declared,
        access=served.access,
        grpc_port=settings.grpc_port,
        http_port=settings.http_port,
        http_host=_http_host(settings),
        metrics_dir=settings.serving_metrics_dir,
    )


def _http_host(settings: OperatorSettings) -> str:
    """Loopback for a local Ray cluster in direct mode; every interface anywhere else (the
    operator and clients reach a remote cluster's proxies over the network)."""
    if settings.direct and urlsplit(settings.direct_dashboard_url).hostname in LOOPBACK:
        return "127.0.0.1"
    return "0.0.0.0"


LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Spec fields this version does not honour yet: refused rather than silently ignored.
NOT_HONOURED = (
    ("vectorStore.tokenSecretRef", lambda s: s.vector_store.token_secret_ref is not None),
    ("vectorStore.indexType", lambda s: s.vector_store.index_type != "HNSW"),
    ("vectorStore.indexParams", lambda s: bool(s.vector_store.index_params)),
    ("vectorStore.metric", lambda s: s.vector_store.metric != "COSINE"),
)


def _unservable(
    kb: KnowledgeBaseResource,
    adapters: dict[str, AdapterResource],
    tokens: dict[str, KnowledgeBaseAccess],
) -> str:
    """Why `kb` cannot be served whatever the other knowledge bases ask; empty if it can."""
    for field_name, is_set in NOT_HONOURED:
        if is_set(kb.spec):
            return f"{field_name} is not honoured in this version; remove it (default: unset)"
    secret = kb.spec.access.token_secret_ref
    if secret is not None and kb.name not in tokens:
        return (
            f"access.tokenSecretRef: Secret {secret.name!r} in namespace {kb.namespace} has no "
            f"non-empty key {secret.key!r}; create it (the knowledge base is not served "
            "without its token)"
        )
    purposes = dict(ADAPTER_REFS)
    for field_name, ref in adapter_refs(kb).items():
        adapter = adapters.get(ref)
        if adapter is None:
            return (
                f"{field_name} names adapter {ref!r}, which does not exist in namespace "
                f"{kb.namespace}; create it or remove the reference"
            )
        if adapter.spec.purpose != purposes[field_name]:
            return (
                f"{field_name} names adapter {ref!r} of purpose {adapter.spec.purpose!r}; "
                f"it needs a {purposes[field_name]!r} adapter"
            )
        if (
            adapter.spec.purpose in GENERATOR_PURPOSES
            and adapter.spec.base_model != kb.spec.generator.model
        ):
            return (
                f"adapter {ref!r} was made for base model {adapter.spec.base_model!r}, but "
                f"this knowledge base generates with {kb.spec.generator.model!r}"
            )
    return ""


def _adapter_args(adapter: AdapterResource) -> AdapterArgs:
    assert adapter.artifact is not None  # only adapters with something to load get here
    return AdapterArgs(
        path=adapter.artifact,
        base_model=adapter.spec.base_model,
        purpose=adapter.spec.purpose,
    )


def _conflict(kb: KnowledgeBaseResource, lead: KnowledgeBaseResource) -> str:
    pairs = [
        ("generator.model", kb.spec.generator.model, lead.spec.generator.model),
        ("embedding.model", kb.spec.embedding.model, lead.spec.embedding.model),
        ("vectorStore.uri", kb.spec.vector_store.uri, lead.spec.vector_store.uri),
        ("generator.gpus", kb.spec.generator.gpus, lead.spec.generator.gpus),
        ("generator.engine", kb.spec.generator.engine, lead.spec.generator.engine),
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
        reranker=defaults.reranker.model_copy(update={"num_cpus": 0.5}),
        generator=defaults.generator.model_copy(
            update={
                "num_cpus": 1.0,
                "num_gpus": float(generator.gpus),
                "num_replicas": max(1, generator.replicas.min),
            }
        ),
    )


def _declared(kb: KnowledgeBaseResource, unloadable: set[str]) -> DeclaredAdapters:
    """The knowledge base's adapters as the gateway uses them; adapters with nothing to load yet
    (training) are left out, so requests answer without them until they are ready."""

    def ready(ref: str | None) -> str | None:
        return ref if ref and ref not in unloadable else None

    return DeclaredAdapters(
        adapter=ready(kb.spec.generator.adapter_ref),
        query_rewrite_adapter=ready(kb.spec.retrieval.query_rewrite_adapter_ref),
        rerank_adapter=ready(kb.spec.retrieval.rerank_adapter_ref),
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
        rerank_candidates=spec.retrieval.rerank_candidates,
    )
