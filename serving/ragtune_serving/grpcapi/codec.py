"""Convert between protobuf messages and ragtune's records, validating requests on the way in.

Pure: no I/O. Every validation error names the request field it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from google.protobuf.timestamp_pb2 import Timestamp

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.config import AppArgs, DeclaredAdapters
from ragtune_serving.errors import InvalidArgument
from ragtune_serving.rag import modes
from ragtune_serving.rag.kbnames import parse_kb_ref
from ragtune_serving.rag.latency import StageStats
from ragtune_serving.rag.prompting import snippet
from ragtune_serving.rag.records import (
    AdapterReport,
    CitationsEvent,
    DeleteReport,
    FinalEvent,
    Hit,
    IndexSettings,
    IngestReport,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    Mode,
    QueryParams,
    SourceDocument,
    Timing,
    TokenEvent,
)

MODE_PROTOS: dict[Mode, pb.Mode] = {
    "base": pb.MODE_BASE,
    "rag": pb.MODE_RAG,
    "adapter": pb.MODE_ADAPTER,
    "rag+adapter": pb.MODE_RAG_ADAPTER,
}
MODES: dict[int, Mode] = {int(number): mode for mode, number in MODE_PROTOS.items()}
OUTCOMES = {
    "created": pb.DOCUMENT_OUTCOME_CREATED,
    "updated": pb.DOCUMENT_OUTCOME_UPDATED,
    "unchanged": pb.DOCUMENT_OUTCOME_UNCHANGED,
    "refused": pb.DOCUMENT_OUTCOME_REFUSED,
    "deleted": pb.DOCUMENT_OUTCOME_DELETED,
}
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.1, 60.0


def kb_ref(value: str) -> KnowledgeBaseRef:
    """The knowledge base a request names."""
    return parse_kb_ref(value)


def query_params(
    request: pb.QueryRequest, args: AppArgs, declared: DeclaredAdapters | None = None
) -> QueryParams:
    """A validated QueryParams, with the application's defaults for fields left unset and the
    knowledge base's `declared` adapters for adapters it names none of."""
    ref = kb_ref(request.knowledge_base)
    question = request.question.strip()
    limits = args.limits
    defaults = args.knowledge_base_settings(ref.namespace, ref.name)
    if not question:
        raise InvalidArgument("the question is empty", field="question")
    if len(question) > limits.max_question_chars:
        raise InvalidArgument(
            f"the question is {len(question)} characters; the limit is {limits.max_question_chars}",
            field="question",
        )
    top_k = request.top_k if request.HasField("top_k") else defaults.top_k
    _check_range("top_k", top_k, 1, limits.max_top_k)
    max_tokens = request.max_tokens if request.HasField("max_tokens") else args.generator.max_tokens
    _check_range("max_tokens", max_tokens, 1, limits.max_tokens)
    temperature = (
        request.temperature if request.HasField("temperature") else args.generator.temperature
    )
    _check_range("temperature", temperature, 0.0, 2.0)
    threshold = (
        request.score_threshold if request.HasField("score_threshold") else defaults.score_threshold
    )
    _check_range("score_threshold", threshold, -1.0, 1.0)
    if request.mode != pb.MODE_UNSPECIFIED and request.mode not in MODES:
        raise InvalidArgument(f"unknown mode {request.mode}", field="mode")
    plan = modes.resolve(
        modes.AskedFor(
            mode=MODES.get(request.mode),
            adapter=request.adapter.strip(),
            rewrite=request.rewrite if request.HasField("rewrite") else None,
            rewrite_adapter=request.rewrite_adapter.strip(),
            rerank=request.rerank if request.HasField("rerank") else None,
            rerank_adapter=request.rerank_adapter.strip(),
        ),
        modes.DeclaredAdapters(
            generation=declared.adapter if declared else None,
            query_rewrite=declared.query_rewrite_adapter if declared else None,
            rerank=declared.rerank_adapter if declared else None,
        ),
    )
    candidates = 0
    if plan.rerank_adapter:
        candidates = (
            request.rerank_candidates
            if request.HasField("rerank_candidates")
            else defaults.rerank_candidates
        )
        _check_range("rerank_candidates", candidates, top_k, limits.max_rerank_candidates)
    return QueryParams(
        ref=ref,
        question=question,
        top_k=top_k,
        max_tokens=max_tokens,
        temperature=temperature,
        score_threshold=threshold,
        filters=dict(request.metadata_filter),
        mode=plan.mode,
        adapter=plan.adapter,
        rewrite_adapter=plan.rewrite_adapter,
        rerank_adapter=plan.rerank_adapter,
        rerank_candidates=candidates,
    )


def _check_range(field: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidArgument(f"{value} is outside [{low}, {high}]", field=field)


def source_documents(request: pb.IngestRequest, args: AppArgs) -> list[SourceDocument]:
    """The request's documents, unvalidated (each is validated alone during ingest)."""
    if not request.documents and not request.prune:
        raise InvalidArgument("no documents given", field="documents")
    limit = args.limits.max_documents_per_request
    if len(request.documents) > limit:
        raise InvalidArgument(
            f"{len(request.documents)} documents in one request; the limit is {limit}, "
            "split the batch",
            field="documents",
        )
    return [
        SourceDocument(
            id=d.id, content=d.content, source_uri=d.source_uri, metadata=dict(d.metadata)
        )
        for d in request.documents
    ]


def index_settings(request: pb.IngestRequest) -> IndexSettings | None:
    """Settings the client asked the knowledge base to be created with, if any."""
    if not request.HasField("settings"):
        return None
    s = request.settings
    if s.chunk_size < 16 or s.chunk_size > 512:
        raise InvalidArgument(f"{s.chunk_size} is outside [16, 512]", field="settings.chunk_size")
    if s.chunk_overlap >= s.chunk_size or s.chunk_overlap > 256:
        raise InvalidArgument(
            "must be at most 256 and smaller than settings.chunk_size",
            field="settings.chunk_overlap",
        )
    if not s.embedding_model:
        raise InvalidArgument("the embedding model is empty", field="settings.embedding_model")
    return IndexSettings(
        chunk_size=s.chunk_size,
        chunk_overlap=s.chunk_overlap,
        hybrid=s.hybrid,
        embedding_model=s.embedding_model,
    )


def settings_proto(settings: IndexSettings) -> pb.KnowledgeBaseSettings:
    return pb.KnowledgeBaseSettings(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        hybrid=settings.hybrid,
        embedding_model=settings.embedding_model,
    )


def timing_proto(timing: Timing) -> pb.Timing:
    return pb.Timing(
        embed_ms=timing.embed_ms,
        rewrite_ms=timing.rewrite_ms,
        retrieve_ms=timing.retrieve_ms,
        rerank_ms=timing.rerank_ms,
        generate_ms=timing.generate_ms,
        time_to_first_token_ms=timing.time_to_first_token_ms,
        total_ms=timing.total_ms,
    )


def citation_protos(hits: Sequence[Hit], cited: Iterable[int] = ()) -> list[pb.Citation]:
    """Citations numbered as in the prompt ([1] is the first hit)."""
    marked = set(cited)
    return [
        pb.Citation(
            index=number,
            document_id=hit.document_id,
            chunk=hit.chunk,
            chunk_id=hit.chunk_id,
            score=hit.score,
            similarity=hit.similarity,
            source_uri=hit.source_uri,
            snippet=snippet(hit.text),
            metadata=hit.metadata,
            cited=number in marked,
        )
        for number, hit in enumerate(hits, start=1)
    ]


def ingest_response(report: IngestReport) -> pb.IngestResponse:
    return pb.IngestResponse(
        results=[
            pb.DocumentResult(
                id=r.id, outcome=OUTCOMES[r.outcome], reason=r.reason, chunks=r.chunks
            )
            for r in report.results
        ],
        chunks_written=report.chunks_written,
        chunks_deleted=report.chunks_deleted,
        created_knowledge_base=report.created_knowledge_base,
        reindexed=report.reindexed,
        embed_ms=report.embed_ms,
        total_ms=report.total_ms,
    )


def delete_response(report: DeleteReport) -> pb.DeleteDocumentsResponse:
    return pb.DeleteDocumentsResponse(
        deleted=report.deleted, not_found=report.not_found, chunks_deleted=report.chunks_deleted
    )


ADAPTER_STATES = {
    "loading": pb.ADAPTER_STATE_LOADING,
    "ready": pb.ADAPTER_STATE_READY,
    "failed": pb.ADAPTER_STATE_FAILED,
}


def knowledge_base_proto(
    info: KnowledgeBaseInfo, adapters: Sequence[AdapterReport] = (), generator: str = ""
) -> pb.KnowledgeBase:
    """What GetKnowledgeBase answers: the knowledge base, the serving adapters' states and the
    generation engine."""
    ordered = sorted(adapters, key=lambda a: a.name)
    message = pb.KnowledgeBase(
        namespace=info.ref.namespace,
        name=info.ref.name,
        documents=info.documents,
        chunks=info.chunks,
        settings=settings_proto(info.settings),
        collection=info.collection,
        generator=generator,
        loaded_adapters=[a.name for a in ordered if a.loaded],
        adapters=[
            pb.AdapterStatus(
                name=a.name,
                purpose=a.purpose,
                state=ADAPTER_STATES[a.state],
                reason=a.reason,
                loaded=a.loaded,
            )
            for a in ordered
        ],
    )
    if info.last_ingested:
        message.last_ingested.CopyFrom(_timestamp(info.last_ingested))
    return message


def watch_interval(request: pb.WatchLatencyRequest) -> float:
    """Seconds between snapshots: 1 when unset, else within [0.1, 60]."""
    interval = request.interval_seconds or 1.0
    _check_range("interval_seconds", interval, MIN_INTERVAL_S, MAX_INTERVAL_S)
    return float(interval)


def latency_snapshot(
    ref: KnowledgeBaseRef, stats: Mapping[str, StageStats], window_s: float, now: float
) -> pb.LatencySnapshot:
    return pb.LatencySnapshot(
        knowledge_base=str(ref),
        stages=[
            pb.StageLatency(
                stage=stage, p50_ms=s.p50_ms, p90_ms=s.p90_ms, p99_ms=s.p99_ms, count=s.count
            )
            for stage, s in stats.items()
        ],
        time=_timestamp(now),
        window_seconds=window_s,
    )


def _timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def citation_list(event: CitationsEvent) -> pb.CitationList:
    """The first event of an answer: citations, and how the answer is being made."""
    return pb.CitationList(
        citations=citation_protos(event.hits),
        grounded=event.grounded,
        mode=MODE_PROTOS[event.mode],
        adapter=event.adapter or "",
        rewritten_question=event.rewritten_question,
        reranked=event.reranked,
    )


def stream_message(event: CitationsEvent | TokenEvent | FinalEvent) -> pb.QueryStreamResponse:
    """One QueryStream reply for one answer event."""
    if isinstance(event, CitationsEvent):
        return pb.QueryStreamResponse(citations=citation_list(event))
    if isinstance(event, TokenEvent):
        return pb.QueryStreamResponse(token=event.text)
    return pb.QueryStreamResponse(
        final=pb.QueryStreamFinal(
            answer=event.answer,
            timing=timing_proto(event.timing),
            usage=pb.TokenUsage(
                prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens
            ),
            cited=event.cited,
        )
    )
