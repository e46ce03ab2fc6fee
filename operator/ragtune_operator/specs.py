"""Typed spec and status models of the KnowledgeBase, Adapter and Evaluation resources.

The one place a raw custom-resource body is validated, and the one source of truth for the
CRD schemas (`crdgen.py` renders them from these models). Field names are camelCase on the
wire (Kubernetes convention) and snake_case in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ragtune_serving.config import PACKAGED_EMBEDDING, PACKAGED_GENERATOR


def _rule(rule: str, message: str) -> dict[str, Any]:
    """A CEL rule the API server checks (`x-kubernetes-validations`), mirrored in Python."""
    return {"x-kubernetes-validations": [{"rule": rule, "message": message}]}


class _Spec(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class SecretKeyRef(_Spec):
    """A key of a Secret in the resource's namespace."""

    name: str = Field(min_length=1, max_length=253)
    key: str = Field(default="token", min_length=1, max_length=253)


class ConfigMapSource(_Spec):
    """Every key of a ConfigMap is one document (its key is the document id)."""

    name: str = Field(min_length=1, max_length=253)


class InlineDocument(_Spec):
    id: str = Field(min_length=1, max_length=512)
    text: str = Field(min_length=1)
    metadata: dict[str, str] = Field(default_factory=dict)


class Source(
    _Spec,
    json_schema_extra=_rule(
        "(has(self.inline) ? 1 : 0) + (has(self.configMap) ? 1 : 0)"
        " + (has(self.url) ? 1 : 0) + (has(self.path) ? 1 : 0) == 1",
        "a source sets exactly one of inline, configMap, url, path",
    ),
):
    """Where documents come from: exactly one of the four kinds."""

    inline: list[InlineDocument] | None = None
    config_map: ConfigMapSource | None = None
    url: str | None = Field(default=None, pattern=r"^https?://", max_length=2048)
    path: str | None = Field(default=None, pattern=r"^/", max_length=4096)

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        given = [x for x in (self.inline, self.config_map, self.url, self.path) if x is not None]
        if len(given) != 1:
            raise ValueError("a source sets exactly one of inline, configMap, url, path")
        return self


class Chunking(
    _Spec,
    json_schema_extra=_rule("self.overlap < self.size", "overlap must be smaller than size"),
):
    """Token-bounded chunks (tokens of the embedding model's tokenizer)."""

    size: int = Field(default=64, ge=16, le=512)
    overlap: int = Field(default=16, ge=0, le=256)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Chunking:
        if self.overlap >= self.size:
            raise ValueError("overlap must be smaller than size")
        return self


class Embedding(_Spec):
    model: str = Field(default=PACKAGED_EMBEDDING, min_length=1)


class VectorStore(_Spec):
    """The Milvus that holds the knowledge base; empty uri = the operator's default."""

    uri: str = Field(default="", max_length=2048)
    token_secret_ref: SecretKeyRef | None = None
    index_type: Literal["HNSW", "IVF_FLAT", "FLAT"] = "HNSW"
    index_params: dict[str, int] = Field(default_factory=dict)
    metric: Literal["COSINE", "IP", "L2"] = "COSINE"
    hybrid: bool = False


class Retrieval(_Spec):
    top_k: int = Field(default=3, ge=1, le=50)
    score_threshold: float = Field(default=0.25, ge=-1, le=1)
    rerank_adapter_ref: str | None = Field(default=None, min_length=1, max_length=253)
    query_rewrite_adapter_ref: str | None = Field(default=None, min_length=1, max_length=253)
    rerank_candidates: int = Field(
        default=20, ge=1, le=200, description="Chunks retrieved for the re-ranker to choose from."
    )


class Toleration(_Spec):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class Replicas(_Spec, json_schema_extra=_rule("self.min <= self.max", "min must not exceed max")):
    min: int = Field(default=1, ge=0, le=100)
    max: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Replicas:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Generator(_Spec):
    engine: Literal["auto", "tensorrt-llm", "transformers"] = "auto"
    model: str = Field(default=PACKAGED_GENERATOR, min_length=1)
    max_tokens: int = Field(default=96, ge=1, le=4096)
    temperature: float = Field(default=0.0, ge=0, le=2)
    adapter_ref: str | None = Field(default=None, min_length=1, max_length=253)
    gpus: int = Field(default=0, ge=0, le=8)
    max_batch_size: int = Field(default=8, ge=1, le=256)
    kv_cache_memory_fraction: float = Field(default=0.85, gt=0, le=0.98)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    replicas: Replicas = Replicas()


class Access(_Spec):
    token_secret_ref: SecretKeyRef | None = None


class KnowledgeBaseSpec(_Spec):
    """One corpus and how it is served."""

    sources: list[Source] = Field(default_factory=list, max_length=64)
    chunking: Chunking = Chunking()
    embedding: Embedding = Embedding()
    vector_store: VectorStore = VectorStore()
    retrieval: Retrieval = Retrieval()
    generator: Generator = Generator()
    access: Access = Access()
    retain_policy: Literal["Delete", "Retain"] = "Delete"


class DatasetRef(
    _Spec,
    json_schema_extra=_rule(
        "has(self.configMap) != has(self.path)", "a dataset sets exactly one of configMap, path"
    ),
):
    """Instruction/response JSONL: a ConfigMap key or a path on a mounted volume."""

    config_map: SecretKeyRef | None = None
    path: str | None = Field(default=None, pattern=r"^/")

    @model_validator(mode="after")
    def _exactly_one(self) -> DatasetRef:
        if (self.config_map is None) == (self.path is None):
            raise ValueError("a dataset sets exactly one of configMap, path")
        return self


class Training(_Spec):
    dataset_ref: DatasetRef
    rank: int = Field(default=8, ge=1, le=256)
    alpha: int = Field(default=16, ge=1, le=512)
    epochs: int = Field(default=3, ge=1, le=100)
    learning_rate: float = Field(default=1e-3, gt=0, le=1)


class AdapterSource(_Spec):
    """A directory holding a PEFT adapter (adapter_config.json + weights)."""

    path: str = Field(pattern=r"^/", max_length=4096)


class AdapterSpec(
    _Spec,
    json_schema_extra=_rule(
        "has(self.source) != has(self.training)", "set exactly one of source, training"
    ),
):
    """One LoRA adapter: loaded from a directory, or trained by the operator."""

    base_model: str = Field(min_length=1)
    purpose: Literal["generation", "query-rewrite", "rerank"] = "generation"
    source: AdapterSource | None = None
    training: Training | None = None

    @model_validator(mode="after")
    def _source_or_training(self) -> AdapterSpec:
        if (self.source is None) == (self.training is None):
            raise ValueError("set exactly one of source, training")
        return self


Mode = Literal["base", "rag", "adapter", "rag+adapter", "rag+rewrite", "rag+rerank"]


class EvaluationQuestion(_Spec):
    """One question; `answer` null for one the knowledge base cannot answer (it should decline)."""

    question: str = Field(min_length=1, max_length=4096)
    answer: str | None = Field(default=None, min_length=1, max_length=4096)
    documents: list[str] = Field(
        default_factory=list, max_length=50, description="Ids of the documents holding the answer."
    )
    format: Literal["json"] | None = Field(
        default=None, description="The answer must be this format (a JSON object)."
    )


class QuestionsConfigMap(_Spec):
    """A ConfigMap key holding the questions as JSON Lines, one question object per line."""

    name: str = Field(min_length=1, max_length=253)
    key: str = Field(default="questions.jsonl", min_length=1, max_length=253)


class Questions(
    _Spec,
    json_schema_extra=_rule(
        "has(self.inline) != has(self.configMap)", "questions set exactly one of inline, configMap"
    ),
):
    inline: list[EvaluationQuestion] | None = Field(default=None, min_length=1, max_length=1000)
    config_map: QuestionsConfigMap | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Questions:
        if (self.inline is None) == (self.config_map is None):
            raise ValueError("questions set exactly one of inline, configMap")
        return self


class TokenPrices(_Spec):
    """What tokens cost, for the cost per 1,000 questions (any currency)."""

    prompt_per_1k: float = Field(default=0.0, ge=0, alias="promptPer1k")
    completion_per_1k: float = Field(default=0.0, ge=0, alias="completionPer1k")


class FreshnessCheck(_Spec):
    """Change a probe document and time each mode until it answers the new fact."""

    enabled: bool = False
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)


class EvaluationSpec(_Spec):
    """Every serving mode of a knowledge base measured on a question set, once per spec."""

    knowledge_base: str = Field(
        min_length=1, max_length=253, description="A KnowledgeBase in the same namespace."
    )
    questions: Questions
    modes: list[Mode] = Field(
        default_factory=list,
        max_length=6,
        description="Empty: every mode the knowledge base can serve.",
        json_schema_extra={"x-kubernetes-list-type": "set"},  # the API server refuses repeats
    )
    adapter: str = Field(
        default="", max_length=253, description="The generation adapter of the adapter modes."
    )
    max_questions: int | None = Field(default=None, ge=1, le=100000)
    top_k: int | None = Field(default=None, ge=1, le=50)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    prices: TokenPrices = TokenPrices()
    freshness: FreshnessCheck = FreshnessCheck()

    @model_validator(mode="after")
    def _modes_once(self) -> EvaluationSpec:
        if len(set(self.modes)) != len(self.modes):
            raise ValueError("modes must not repeat")
        return self


class Condition(_Spec):
    """A Kubernetes API convention condition."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    observed_generation: int | None = None
    last_transition_time: str | None = None


class KnowledgeBaseStatus(_Spec):
    phase: Literal["Pending", "Indexing", "Ready", "Failed"] | None = None
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None
    documents: int | None = None
    chunks: int | None = None
    last_ingested: str | None = None
    endpoint: str | None = None
    adapters: list[str] = Field(default_factory=list)
    generator: str | None = Field(
        default=None,
        description="The engine answering (tensorrt-llm or transformers), its device, why it "
        "was chosen, and its model, as the serving replicas report it.",
    )
    indexed_digest: str | None = Field(
        default=None, description="Digest of the documents and index settings last ingested."
    )


class AdapterStatus(_Spec):
    phase: Literal["Pending", "Training", "Ready", "Failed"] | None = None
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None
    artifact: str | None = None
    final_loss: float | None = None
    dataset_lines_skipped: int | None = None
    loaded_by: list[str] = Field(default_factory=list)


class ModeResult(_Spec):
    """One mode's results (shares 0–1; None where nothing measured it)."""

    mode: str
    questions: int
    correct: float | None = None
    f1: float | None = None
    hit: float | None = None
    mrr: float | None = None
    citation_precision: float | None = None
    declined_outside: float | None = None
    declined_inside: float | None = None
    format_valid: float | None = None
    p50_ms: float
    p95_ms: float
    first_token_p50_ms: float
    prompt_tokens: float
    completion_tokens: float
    cost_per_1k_questions: float = Field(alias="costPer1kQuestions")


class EvaluationWinners(_Spec):
    quality: str
    latency: str
    cost: str | None = None
    format: str | None = None


class FreshnessResult(_Spec):
    mode: str
    seconds: float | None = Field(
        default=None, description="Until it answered the changed fact; none: not in time."
    )
    timeout_seconds: float


class EvaluationStatus(_Spec):
    phase: Literal["Pending", "Running", "Succeeded", "Failed"] | None = None
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None
    job: str | None = Field(default=None, description="The Job running `ragtune eval`.")
    winners: EvaluationWinners | None = None
    results: list[ModeResult] = Field(default_factory=list)
    recommendation: list[str] = Field(default_factory=list)
    freshness: list[FreshnessResult] = Field(default_factory=list)
    report_config_map: str | None = Field(
        default=None, description="The ConfigMap holding report.md and summary.json."
    )
    artifacts: str | None = Field(
        default=None,
        description="Where on the artifacts volume the Job wrote results.json (every "
        "measurement) and the chart.",
    )
    completed_at: str | None = None


@dataclass(frozen=True, slots=True)
class KnowledgeBaseResource:
    """A KnowledgeBase object as the operator sees it: identity plus validated spec."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: KnowledgeBaseSpec


@dataclass(frozen=True, slots=True)
class AdapterResource:
    """An Adapter object as the operator sees it; `artifact` is the directory serving loads:
    its source, or where its finished training wrote it (None while there is none)."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: AdapterSpec
    artifact: str | None = None


@dataclass(frozen=True, slots=True)
class EvaluationResource:
    """An Evaluation object as the operator sees it: identity plus validated spec."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: EvaluationSpec
