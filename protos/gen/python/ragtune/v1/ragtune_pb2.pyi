import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    MODE_RAG: _ClassVar[Mode]
    MODE_BASE: _ClassVar[Mode]
    MODE_ADAPTER: _ClassVar[Mode]
    MODE_RAG_ADAPTER: _ClassVar[Mode]

class DocumentOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_OUTCOME_UNSPECIFIED: _ClassVar[DocumentOutcome]
    DOCUMENT_OUTCOME_CREATED: _ClassVar[DocumentOutcome]
    DOCUMENT_OUTCOME_UPDATED: _ClassVar[DocumentOutcome]
    DOCUMENT_OUTCOME_UNCHANGED: _ClassVar[DocumentOutcome]
    DOCUMENT_OUTCOME_REFUSED: _ClassVar[DocumentOutcome]
    DOCUMENT_OUTCOME_DELETED: _ClassVar[DocumentOutcome]

class AdapterState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADAPTER_STATE_UNSPECIFIED: _ClassVar[AdapterState]
    ADAPTER_STATE_LOADING: _ClassVar[AdapterState]
    ADAPTER_STATE_READY: _ClassVar[AdapterState]
    ADAPTER_STATE_FAILED: _ClassVar[AdapterState]
MODE_UNSPECIFIED: Mode
MODE_RAG: Mode
MODE_BASE: Mode
MODE_ADAPTER: Mode
MODE_RAG_ADAPTER: Mode
DOCUMENT_OUTCOME_UNSPECIFIED: DocumentOutcome
DOCUMENT_OUTCOME_CREATED: DocumentOutcome
DOCUMENT_OUTCOME_UPDATED: DocumentOutcome
DOCUMENT_OUTCOME_UNCHANGED: DocumentOutcome
DOCUMENT_OUTCOME_REFUSED: DocumentOutcome
DOCUMENT_OUTCOME_DELETED: DocumentOutcome
ADAPTER_STATE_UNSPECIFIED: AdapterState
ADAPTER_STATE_LOADING: AdapterState
ADAPTER_STATE_READY: AdapterState
ADAPTER_STATE_FAILED: AdapterState

class QueryRequest(_message.Message):
    __slots__ = ("knowledge_base", "question", "top_k", "max_tokens", "temperature", "score_threshold", "metadata_filter", "mode", "adapter", "rewrite", "rerank", "rewrite_adapter", "rerank_adapter", "rerank_candidates")
    class MetadataFilterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    METADATA_FILTER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    REWRITE_FIELD_NUMBER: _ClassVar[int]
    RERANK_FIELD_NUMBER: _ClassVar[int]
    REWRITE_ADAPTER_FIELD_NUMBER: _ClassVar[int]
    RERANK_ADAPTER_FIELD_NUMBER: _ClassVar[int]
    RERANK_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    knowledge_base: str
    question: str
    top_k: int
    max_tokens: int
    temperature: float
    score_threshold: float
    metadata_filter: _containers.ScalarMap[str, str]
    mode: Mode
    adapter: str
    rewrite: bool
    rerank: bool
    rewrite_adapter: str
    rerank_adapter: str
    rerank_candidates: int
    def __init__(self, knowledge_base: _Optional[str] = ..., question: _Optional[str] = ..., top_k: _Optional[int] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., score_threshold: _Optional[float] = ..., metadata_filter: _Optional[_Mapping[str, str]] = ..., mode: _Optional[_Union[Mode, str]] = ..., adapter: _Optional[str] = ..., rewrite: _Optional[bool] = ..., rerank: _Optional[bool] = ..., rewrite_adapter: _Optional[str] = ..., rerank_adapter: _Optional[str] = ..., rerank_candidates: _Optional[int] = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ("embed_ms", "rewrite_ms", "retrieve_ms", "rerank_ms", "generate_ms", "time_to_first_token_ms", "total_ms")
    EMBED_MS_FIELD_NUMBER: _ClassVar[int]
    REWRITE_MS_FIELD_NUMBER: _ClassVar[int]
    RETRIEVE_MS_FIELD_NUMBER: _ClassVar[int]
    RERANK_MS_FIELD_NUMBER: _ClassVar[int]
    GENERATE_MS_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    embed_ms: float
    rewrite_ms: float
    retrieve_ms: float
    rerank_ms: float
    generate_ms: float
    time_to_first_token_ms: float
    total_ms: float
    def __init__(self, embed_ms: _Optional[float] = ..., rewrite_ms: _Optional[float] = ..., retrieve_ms: _Optional[float] = ..., rerank_ms: _Optional[float] = ..., generate_ms: _Optional[float] = ..., time_to_first_token_ms: _Optional[float] = ..., total_ms: _Optional[float] = ...) -> None: ...

class TokenUsage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ...) -> None: ...

class Citation(_message.Message):
    __slots__ = ("index", "document_id", "chunk", "chunk_id", "score", "similarity", "source_uri", "snippet", "metadata", "cited")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    INDEX_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_URI_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CITED_FIELD_NUMBER: _ClassVar[int]
    index: int
    document_id: str
    chunk: int
    chunk_id: str
    score: float
    similarity: float
    source_uri: str
    snippet: str
    metadata: _containers.ScalarMap[str, str]
    cited: bool
    def __init__(self, index: _Optional[int] = ..., document_id: _Optional[str] = ..., chunk: _Optional[int] = ..., chunk_id: _Optional[str] = ..., score: _Optional[float] = ..., similarity: _Optional[float] = ..., source_uri: _Optional[str] = ..., snippet: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., cited: _Optional[bool] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("answer", "citations", "timing", "usage", "grounded", "knowledge_base", "mode", "adapter", "rewritten_question", "reranked")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    GROUNDED_FIELD_NUMBER: _ClassVar[int]
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    REWRITTEN_QUESTION_FIELD_NUMBER: _ClassVar[int]
    RERANKED_FIELD_NUMBER: _ClassVar[int]
    answer: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    timing: Timing
    usage: TokenUsage
    grounded: bool
    knowledge_base: str
    mode: Mode
    adapter: str
    rewritten_question: str
    reranked: bool
    def __init__(self, answer: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ..., usage: _Optional[_Union[TokenUsage, _Mapping]] = ..., grounded: _Optional[bool] = ..., knowledge_base: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., adapter: _Optional[str] = ..., rewritten_question: _Optional[str] = ..., reranked: _Optional[bool] = ...) -> None: ...

class CitationList(_message.Message):
    __slots__ = ("citations", "grounded", "mode", "adapter", "rewritten_question", "reranked")
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    GROUNDED_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    REWRITTEN_QUESTION_FIELD_NUMBER: _ClassVar[int]
    RERANKED_FIELD_NUMBER: _ClassVar[int]
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    grounded: bool
    mode: Mode
    adapter: str
    rewritten_question: str
    reranked: bool
    def __init__(self, citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., grounded: _Optional[bool] = ..., mode: _Optional[_Union[Mode, str]] = ..., adapter: _Optional[str] = ..., rewritten_question: _Optional[str] = ..., reranked: _Optional[bool] = ...) -> None: ...

class QueryStreamFinal(_message.Message):
    __slots__ = ("answer", "timing", "usage", "cited")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    CITED_FIELD_NUMBER: _ClassVar[int]
    answer: str
    timing: Timing
    usage: TokenUsage
    cited: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, answer: _Optional[str] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ..., usage: _Optional[_Union[TokenUsage, _Mapping]] = ..., cited: _Optional[_Iterable[int]] = ...) -> None: ...

class QueryStreamResponse(_message.Message):
    __slots__ = ("citations", "token", "final")
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    citations: CitationList
    token: str
    final: QueryStreamFinal
    def __init__(self, citations: _Optional[_Union[CitationList, _Mapping]] = ..., token: _Optional[str] = ..., final: _Optional[_Union[QueryStreamFinal, _Mapping]] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("id", "content", "source_uri", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_URI_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    content: bytes
    source_uri: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., content: _Optional[bytes] = ..., source_uri: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class KnowledgeBaseSettings(_message.Message):
    __slots__ = ("chunk_size", "chunk_overlap", "hybrid", "embedding_model")
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_OVERLAP_FIELD_NUMBER: _ClassVar[int]
    HYBRID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    chunk_size: int
    chunk_overlap: int
    hybrid: bool
    embedding_model: str
    def __init__(self, chunk_size: _Optional[int] = ..., chunk_overlap: _Optional[int] = ..., hybrid: _Optional[bool] = ..., embedding_model: _Optional[str] = ...) -> None: ...

class IngestRequest(_message.Message):
    __slots__ = ("knowledge_base", "documents", "prune", "settings", "keep", "reindex")
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELD_NUMBER: _ClassVar[int]
    REINDEX_FIELD_NUMBER: _ClassVar[int]
    knowledge_base: str
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    prune: bool
    settings: KnowledgeBaseSettings
    keep: _containers.RepeatedScalarFieldContainer[str]
    reindex: bool
    def __init__(self, knowledge_base: _Optional[str] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., prune: _Optional[bool] = ..., settings: _Optional[_Union[KnowledgeBaseSettings, _Mapping]] = ..., keep: _Optional[_Iterable[str]] = ..., reindex: _Optional[bool] = ...) -> None: ...

class DocumentResult(_message.Message):
    __slots__ = ("id", "outcome", "reason", "chunks")
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    id: str
    outcome: DocumentOutcome
    reason: str
    chunks: int
    def __init__(self, id: _Optional[str] = ..., outcome: _Optional[_Union[DocumentOutcome, str]] = ..., reason: _Optional[str] = ..., chunks: _Optional[int] = ...) -> None: ...

class IngestResponse(_message.Message):
    __slots__ = ("results", "chunks_written", "chunks_deleted", "created_knowledge_base", "embed_ms", "total_ms", "reindexed")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_DELETED_FIELD_NUMBER: _ClassVar[int]
    CREATED_KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    EMBED_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    REINDEXED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[DocumentResult]
    chunks_written: int
    chunks_deleted: int
    created_knowledge_base: bool
    embed_ms: float
    total_ms: float
    reindexed: bool
    def __init__(self, results: _Optional[_Iterable[_Union[DocumentResult, _Mapping]]] = ..., chunks_written: _Optional[int] = ..., chunks_deleted: _Optional[int] = ..., created_knowledge_base: _Optional[bool] = ..., embed_ms: _Optional[float] = ..., total_ms: _Optional[float] = ..., reindexed: _Optional[bool] = ...) -> None: ...

class DeleteDocumentsRequest(_message.Message):
    __slots__ = ("knowledge_base", "document_ids")
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    knowledge_base: str
    document_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, knowledge_base: _Optional[str] = ..., document_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteDocumentsResponse(_message.Message):
    __slots__ = ("deleted", "not_found", "chunks_deleted")
    DELETED_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: _containers.RepeatedScalarFieldContainer[str]
    not_found: _containers.RepeatedScalarFieldContainer[str]
    chunks_deleted: int
    def __init__(self, deleted: _Optional[_Iterable[str]] = ..., not_found: _Optional[_Iterable[str]] = ..., chunks_deleted: _Optional[int] = ...) -> None: ...

class GetKnowledgeBaseRequest(_message.Message):
    __slots__ = ("knowledge_base",)
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    knowledge_base: str
    def __init__(self, knowledge_base: _Optional[str] = ...) -> None: ...

class KnowledgeBase(_message.Message):
    __slots__ = ("namespace", "name", "documents", "chunks", "settings", "last_ingested", "collection", "loaded_adapters", "adapters", "generator")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    LAST_INGESTED_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    LOADED_ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    documents: int
    chunks: int
    settings: KnowledgeBaseSettings
    last_ingested: _timestamp_pb2.Timestamp
    collection: str
    loaded_adapters: _containers.RepeatedScalarFieldContainer[str]
    adapters: _containers.RepeatedCompositeFieldContainer[AdapterStatus]
    generator: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., documents: _Optional[int] = ..., chunks: _Optional[int] = ..., settings: _Optional[_Union[KnowledgeBaseSettings, _Mapping]] = ..., last_ingested: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., collection: _Optional[str] = ..., loaded_adapters: _Optional[_Iterable[str]] = ..., adapters: _Optional[_Iterable[_Union[AdapterStatus, _Mapping]]] = ..., generator: _Optional[str] = ...) -> None: ...

class AdapterStatus(_message.Message):
    __slots__ = ("name", "purpose", "state", "reason", "loaded")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    name: str
    purpose: str
    state: AdapterState
    reason: str
    loaded: bool
    def __init__(self, name: _Optional[str] = ..., purpose: _Optional[str] = ..., state: _Optional[_Union[AdapterState, str]] = ..., reason: _Optional[str] = ..., loaded: _Optional[bool] = ...) -> None: ...

class DeleteKnowledgeBaseRequest(_message.Message):
    __slots__ = ("knowledge_base",)
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    knowledge_base: str
    def __init__(self, knowledge_base: _Optional[str] = ...) -> None: ...

class DeleteKnowledgeBaseResponse(_message.Message):
    __slots__ = ("existed",)
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    existed: bool
    def __init__(self, existed: _Optional[bool] = ...) -> None: ...

class WatchLatencyRequest(_message.Message):
    __slots__ = ("knowledge_base", "interval_seconds", "max_updates")
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_UPDATES_FIELD_NUMBER: _ClassVar[int]
    knowledge_base: str
    interval_seconds: float
    max_updates: int
    def __init__(self, knowledge_base: _Optional[str] = ..., interval_seconds: _Optional[float] = ..., max_updates: _Optional[int] = ...) -> None: ...

class StageLatency(_message.Message):
    __slots__ = ("stage", "p50_ms", "p90_ms", "p99_ms", "count")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P90_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    stage: str
    p50_ms: float
    p90_ms: float
    p99_ms: float
    count: int
    def __init__(self, stage: _Optional[str] = ..., p50_ms: _Optional[float] = ..., p90_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class LatencySnapshot(_message.Message):
    __slots__ = ("knowledge_base", "stages", "time", "window_seconds")
    KNOWLEDGE_BASE_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    knowledge_base: str
    stages: _containers.RepeatedCompositeFieldContainer[StageLatency]
    time: _timestamp_pb2.Timestamp
    window_seconds: float
    def __init__(self, knowledge_base: _Optional[str] = ..., stages: _Optional[_Iterable[_Union[StageLatency, _Mapping]]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_seconds: _Optional[float] = ...) -> None: ...
