"""Ingesting a batch of documents into one knowledge base, and re-indexing one.

Validate each document (a bad one is refused with its reason, the rest go on), skip the ones
whose content hash is already stored, chunk and embed the changed ones, write each document's
new chunks before deleting its old ones, and optionally prune documents absent from the batch.
A re-index ingests the batch into a new collection version with new settings and switches to it
only when it is complete. Ray-free: the tokenizer, embedder and store come in as arguments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace as replace_record
from functools import partial
from typing import Protocol

from ragtune_serving.errors import DocumentRefused
from ragtune_serving.rag.chunking import TokenSpan, chunk_document
from ragtune_serving.rag.documents import validate_document
from ragtune_serving.rag.records import (
    Chunk,
    DocumentResult,
    IndexSettings,
    IngestReport,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    Outcome,
    SourceDocument,
    TextDocument,
)

logger = logging.getLogger(__name__)

TokenSpans = Callable[[Sequence[str]], Awaitable[list[list[TokenSpan]]]]
EmbedMany = Callable[[list[str]], Awaitable[list[list[float]]]]


class ChunkStore(Protocol):
    """The part of the store ingestion writes through (run in a worker thread by the caller)."""

    def document_hashes(
        self, info: KnowledgeBaseInfo, document_ids: Sequence[str]
    ) -> dict[str, str]: ...

    def document_ids(self, info: KnowledgeBaseInfo) -> set[str]: ...

    def write_chunks(
        self,
        info: KnowledgeBaseInfo,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        *,
        replace: bool,
    ) -> None: ...

    def delete_stale(self, info: KnowledgeBaseInfo, current: Mapping[str, str]) -> int: ...

    def commit(self, info: KnowledgeBaseInfo) -> None: ...

    def delete_documents(self, info: KnowledgeBaseInfo, document_ids: Sequence[str]) -> int: ...

    def mark_ingested(self, info: KnowledgeBaseInfo, when: float | None = None) -> None: ...


class VersionedStore(ChunkStore, Protocol):
    """A store that can build a knowledge base's next index beside the serving one."""

    def create_version(
        self, ref: KnowledgeBaseRef, settings: IndexSettings, dim: int
    ) -> KnowledgeBaseInfo: ...

    def promote(self, built: KnowledgeBaseInfo) -> None: ...

    def discard(self, built: KnowledgeBaseInfo) -> None: ...


Run = Callable[..., Awaitable[object]]


async def ingest(
    info: KnowledgeBaseInfo,
    documents: Sequence[SourceDocument],
    *,
    store: ChunkStore,
    run: Run,
    token_spans: TokenSpans,
    embed: EmbedMany,
    max_document_bytes: int,
    prune: bool = False,
    keep: Sequence[str] = (),
) -> IngestReport:
    """Bring `info`'s knowledge base up to date with `documents`; returns what each one did.

    With `prune`, documents stored but neither in `documents` nor in `keep` are deleted.

    `run(fn, *args)` executes a blocking store call (e.g. `asyncio.to_thread`).
    """
    started = time.perf_counter()
    report = IngestReport()
    valid, refused = _validate(documents, max_document_bytes)
    report.results += refused

    stored = await run(store.document_hashes, info, [d.id for d in valid])
    assert isinstance(stored, dict)
    changed = [d for d in valid if stored.get(d.id) != d.content_hash]
    report.results += [
        DocumentResult(d.id, "unchanged") for d in valid if stored.get(d.id) == d.content_hash
    ]

    if changed:
        spans = await token_spans([d.text for d in changed])
        per_document = [
            chunk_document(d, s, size=info.settings.chunk_size, overlap=info.settings.chunk_overlap)
            for d, s in zip(changed, spans, strict=True)
        ]
        texts = [c.text for chunks in per_document for c in chunks]
        t = time.perf_counter()
        vectors = await embed(texts) if texts else []
        report.embed_ms = (time.perf_counter() - t) * 1000.0
        chunks_of = dict(zip((d.id for d in changed), per_document, strict=True))
        vectors_of: dict[str, list[list[float]]] = {}
        offset = 0
        for document in changed:
            count = len(chunks_of[document.id])
            vectors_of[document.id] = vectors[offset : offset + count]
            offset += count
        for replace in (False, True):
            group = [d for d in changed if (d.id in stored) == replace]
            await run(
                partial(store.write_chunks, replace=replace),
                info,
                [c for d in group for c in chunks_of[d.id]],
                [v for d in group for v in vectors_of[d.id]],
            )
        updated = {d.id: d.content_hash for d in changed if d.id in stored}
        if updated:
            deleted = await run(store.delete_stale, info, updated)
            assert isinstance(deleted, int)
            report.chunks_deleted += deleted
        for document in changed:
            count = len(chunks_of[document.id])
            report.chunks_written += count
            outcome: Outcome = "updated" if document.id in stored else "created"
            report.results.append(DocumentResult(document.id, outcome, chunks=count))

    if prune:
        existing = await run(store.document_ids, info)
        assert isinstance(existing, set)
        named = {d.id for d in documents} | set(keep)
        gone = sorted(existing - named)
        if gone:
            deleted = await run(store.delete_documents, info, gone)
            assert isinstance(deleted, int)
            report.chunks_deleted += deleted
            report.results += [DocumentResult(i, "deleted") for i in gone]

    if report.chunks_written or report.chunks_deleted:
        await run(store.commit, info)
        await run(store.mark_ingested, info)
    report.total_ms = (time.perf_counter() - started) * 1000.0
    return report


def _validate(
    documents: Sequence[SourceDocument], max_bytes: int
) -> tuple[list[TextDocument], list[DocumentResult]]:
    valid: list[TextDocument] = []
    refused: list[DocumentResult] = []
    seen: set[str] = set()
    for document in documents:
        if document.id in seen:
            refused.append(
                DocumentResult(document.id, "refused", "duplicate document id in this request")
            )
            continue
        seen.add(document.id)
        try:
            valid.append(validate_document(document, max_bytes=max_bytes))
        except DocumentRefused as error:
            refused.append(DocumentResult(document.id, "refused", error.message))
    return valid, refused


async def reindex(
    current: KnowledgeBaseInfo,
    settings: IndexSettings,
    documents: Sequence[SourceDocument],
    *,
    dim: int,
    store: VersionedStore,
    run: Run,
    token_spans: TokenSpans,
    embed: EmbedMany,
    max_document_bytes: int,
) -> IngestReport:
    """Rebuild `current`'s knowledge base with `settings` from `documents` alone.

    The new index is a new collection version; queries keep using the current one until it is
    complete, and only then does the alias switch and the old version go. If the build fails,
    the partial version is dropped and the current one keeps serving. `current.chunks` should
    hold the current chunk count (it is reported as deleted).
    """
    started = time.perf_counter()
    previous = await run(store.document_ids, current)
    assert isinstance(previous, set)
    built = await run(store.create_version, current.ref, settings, dim)
    assert isinstance(built, KnowledgeBaseInfo)
    try:
        report = await ingest(
            built,
            documents,
            store=store,
            run=run,
            token_spans=token_spans,
            embed=embed,
            max_document_bytes=max_document_bytes,
        )
        await run(store.promote, built)
    except BaseException:
        try:
            await run(store.discard, built)
        except Exception:
            logger.exception("could not drop %s, the unfinished re-index", built.collection)
        raise
    report = _compared_with_previous(report, previous, current.chunks)
    report.total_ms = (time.perf_counter() - started) * 1000.0
    return report


def _compared_with_previous(
    report: IngestReport, previous: set[str], previous_chunks: int
) -> IngestReport:
    """A re-index's report, told against the old index.

    Documents the old index held were re-chunked (updated), the ones the request left out are
    gone (deleted), and so is every chunk of the old index.
    """
    results = [
        replace_record(r, outcome="updated") if r.outcome == "created" and r.id in previous else r
        for r in report.results
    ]
    sent = {r.id for r in report.results}
    results += [DocumentResult(i, "deleted") for i in sorted(previous - sent)]
    return replace_record(report, results=results, chunks_deleted=previous_chunks, reindexed=True)
