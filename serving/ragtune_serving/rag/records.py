"""Plain records passed between the RAG stages, independent of gRPC and Ray."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class KnowledgeBaseRef:
    """A knowledge base address: `namespace/name`."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A document as a client sent it, before validation."""

    id: str
    content: bytes
    source_uri: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextDocument:
    """A validated document: decoded text plus its content hash."""

    id: str
    text: str
    content_hash: str
    source_uri: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One token-bounded piece of a document, with a stable id `doc_id#n`."""

    document_id: str
    number: int
    text: str
    start: int  # character offset in the document text
    end: int
    content_hash: str  # the document's hash, shared by all its chunks
    source_uri: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return chunk_id(self.document_id, self.number)


def chunk_id(document_id: str, number: int) -> str:
    """The stable id of chunk `number` of `document_id`."""
    return f"{document_id}#{number}"


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its scores."""

    chunk_id: str
    document_id: str
    chunk: int
    text: str
    score: float  # ranking score: cosine for dense search, RRF for hybrid
    similarity: float  # cosine similarity to the question
    source_uri: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Timing:
    """Milliseconds per stage; 0 for a stage that did not run."""

    embed_ms: float = 0.0
    rewrite_ms: float = 0.0
    retrieve_ms: float = 0.0
    rerank_ms: float = 0.0
    generate_ms: float = 0.0
    time_to_first_token_ms: float = 0.0
    total_ms: float = 0.0

    def stages(self) -> dict[str, float]:
        """Stage name → milliseconds, the names metrics and WatchLatency use."""
        return {
            "embed": self.embed_ms,
            "rewrite": self.rewrite_ms,
            "retrieve": self.retrieve_ms,
            "rerank": self.rerank_ms,
            "generate": self.generate_ms,
            "ttft": self.time_to_first_token_ms,
            "total": self.total_ms,
        }


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """How a knowledge base is chunked, embedded and indexed; fixed when it is created."""

    chunk_size: int
    chunk_overlap: int
    hybrid: bool
    embedding_model: str


@dataclass(frozen=True, slots=True)
class KnowledgeBaseInfo:
    """What a knowledge base holds."""

    ref: KnowledgeBaseRef
    settings: IndexSettings
    collection: str  # the alias queries go through
    documents: int = 0
    chunks: int = 0
    last_ingested: float = 0.0  # seconds since the epoch, 0 if never


AdapterState = Literal["loading", "ready", "failed"]


@dataclass(frozen=True, slots=True)
class AdapterReport:
    """One adapter a serving deployment was given, and where it stands there."""

    name: str
    purpose: str
    state: AdapterState
    reason: str = ""
    loaded: bool = False  # in memory now; a ready adapter evicted by the LRU bound reloads on use


Mode = Literal["base", "rag", "adapter", "rag+adapter"]
RETRIEVING_MODES: tuple[Mode, ...] = ("rag", "rag+adapter")
ADAPTER_MODES: tuple[Mode, ...] = ("adapter", "rag+adapter")


@dataclass(frozen=True, slots=True)
class QueryParams:
    """A validated question and how to answer it."""

    ref: KnowledgeBaseRef
    question: str
    top_k: int
    max_tokens: int
    temperature: float
    score_threshold: float
    filters: dict[str, str] = field(default_factory=dict)
    mode: Mode = "rag"
    adapter: str | None = None  # generation adapter (adapter modes only)
    rewrite_adapter: str | None = None  # query-rewrite adapter, when the question is rewritten
    rerank_adapter: str | None = None  # rerank adapter, when retrieved chunks are re-ranked
    rerank_candidates: int = 0  # chunks retrieved for the re-ranker (0: no re-ranking)

    @property
    def retrieves(self) -> bool:
        return self.mode in RETRIEVING_MODES


@dataclass(frozen=True, slots=True)
class CitationsEvent:
    """First event of an answer: the numbered passages, and whether any cleared the threshold."""

    hits: list[Hit]
    grounded: bool
    mode: Mode = "rag"
    adapter: str | None = None
    rewritten_question: str = ""  # set when a query-rewrite adapter rewrote the question
    reranked: bool = False


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """A piece of answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class FinalEvent:
    """Last event of an answer."""

    answer: str
    timing: Timing
    prompt_tokens: int
    completion_tokens: int
    cited: list[int]


AnswerEvent = CitationsEvent | TokenEvent | FinalEvent


Outcome = Literal["created", "updated", "unchanged", "refused", "deleted"]


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """What ingesting one document did: created, updated, unchanged, refused or deleted."""

    id: str
    outcome: Outcome
    reason: str = ""
    chunks: int = 0


@dataclass(slots=True)
class IngestReport:
    results: list[DocumentResult] = field(default_factory=list)
    chunks_written: int = 0
    chunks_deleted: int = 0
    created_knowledge_base: bool = False
    reindexed: bool = False  # a re-index replaced the knowledge base's index
    embed_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class DeleteReport:
    deleted: list[str]
    not_found: list[str]
    chunks_deleted: int
