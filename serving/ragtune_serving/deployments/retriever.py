"""The retriever deployment: knowledge bases in Milvus — describe, search, ingest, re-index,
delete documents, drop.

One replica changes one knowledge base at a time (a lock per knowledge base), so an ingest never
writes into an index that a re-index or a drop is about to remove.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from ragtune_serving import metrics
from ragtune_serving.config import AppArgs
from ragtune_serving.errors import FailedPrecondition, InvalidArgument, NotFound
from ragtune_serving.ingestion import ingest, reindex
from ragtune_serving.rag.chunking import TokenSpan
from ragtune_serving.rag.records import (
    DeleteReport,
    Hit,
    IndexSettings,
    IngestReport,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    SourceDocument,
)
from ragtune_serving.stores.milvus_store import MilvusKnowledgeStore

logger = logging.getLogger("ray.serve")


@serve.deployment(name="Retriever")
class Retriever:
    """Owns the Milvus connection; embeds chunks through the embedder on ingest."""

    def __init__(self, args: AppArgs, embedder: DeploymentHandle) -> None:
        self._args = args
        self._embedder = embedder
        self._store = MilvusKnowledgeStore(
            args.milvus.uri, token=args.milvus.token, timeout_s=args.milvus.timeout_s
        )
        self._locks: dict[KnowledgeBaseRef, asyncio.Lock] = {}

    async def describe(self, ref: KnowledgeBaseRef, counts: bool = False) -> KnowledgeBaseInfo:
        """The knowledge base's settings (and document/chunk counts); NotFound if absent."""
        info = await asyncio.to_thread(self._store.describe, ref, counts=counts)
        if info is None:
            raise NotFound(
                f"knowledge base {ref} does not exist; ingest documents into it first",
                field="knowledge_base",
            )
        return info

    async def search(
        self,
        info: KnowledgeBaseInfo,
        vector: Sequence[float],
        question: str,
        top_k: int,
        filter_expression: str,
    ) -> list[Hit]:
        """The top-k chunks for a question vector (and its text, for BM25 in hybrid mode)."""
        with metrics.in_flight("Retriever"):
            return await asyncio.to_thread(
                self._store.search,
                info,
                vector,
                question,
                top_k=top_k,
                filter_expression=filter_expression,
            )

    async def ingest(
        self,
        ref: KnowledgeBaseRef,
        documents: list[SourceDocument],
        prune: bool = False,
        settings: IndexSettings | None = None,
        keep: Sequence[str] = (),
        reindex: bool = False,
    ) -> IngestReport:
        """Add, update (and with prune, remove) documents; creates the knowledge base if new.

        With `reindex` and settings other than the stored ones, rebuild the index instead.
        """
        async with self._lock(ref):
            info, created = await self._ensure(ref, settings, reindex)
            if reindex and settings is not None and settings != info.settings:
                return await self._reindex(info, settings, documents, keep)
            report = await ingest(
                info,
                documents,
                store=self._store,
                run=asyncio.to_thread,
                token_spans=self._token_spans,
                embed=self._embed_documents,
                max_document_bytes=self._args.limits.max_document_bytes,
                prune=prune,
                keep=keep,
            )
        report.created_knowledge_base = created
        return report

    async def delete(self, ref: KnowledgeBaseRef, document_ids: list[str]) -> DeleteReport:
        """Delete documents by id; ids that do not exist are reported, not an error."""
        async with self._lock(ref):
            info = await self.describe(ref)
            existing = await asyncio.to_thread(self._store.document_hashes, info, document_ids)
            found = [i for i in dict.fromkeys(document_ids) if i in existing]
            deleted = await asyncio.to_thread(self._store.delete_documents, info, found)
            if deleted:
                await asyncio.to_thread(self._store.commit, info)
                await asyncio.to_thread(self._store.mark_ingested, info)
        missing = [i for i in dict.fromkeys(document_ids) if i not in existing]
        return DeleteReport(deleted=found, not_found=missing, chunks_deleted=deleted)

    async def drop(self, ref: KnowledgeBaseRef) -> bool:
        """Drop the knowledge base and every index version of it; False if it did not exist."""
        async with self._lock(ref):
            existed = await asyncio.to_thread(self._store.drop, ref)
        if existed:
            logger.info("dropped knowledge base %s", ref)
        return existed

    async def ping(self) -> None:
        """Raise Unavailable unless Milvus answers (the gateway's health service asks). Not
        Serve's `check_health`: an unreachable Milvus is no reason to replace this replica,
        whose client reconnects by itself once Milvus is back."""
        await asyncio.to_thread(self._store.ping)

    def _lock(self, ref: KnowledgeBaseRef) -> asyncio.Lock:
        return self._locks.setdefault(ref, asyncio.Lock())

    async def _ensure(
        self, ref: KnowledgeBaseRef, requested: IndexSettings | None, reindex: bool
    ) -> tuple[KnowledgeBaseInfo, bool]:
        """The knowledge base (created if new); refuse other settings unless re-indexing."""
        info = await asyncio.to_thread(self._store.describe, ref)
        if info is not None:
            if requested is not None and requested != info.settings and not reindex:
                raise FailedPrecondition(
                    f"knowledge base {ref} exists with settings {info.settings}; {requested} "
                    "needs a re-index: send the whole corpus again with `reindex: true` to "
                    "rebuild it with the new settings",
                    field="settings",
                )
            return info, False
        defaults = self._args.knowledge_base_settings(ref.namespace, ref.name)
        settings = requested or IndexSettings(
            chunk_size=defaults.chunk_size,
            chunk_overlap=defaults.chunk_overlap,
            hybrid=defaults.hybrid,
            embedding_model=self._args.embedding.model,
        )
        self._check_embedding_model(settings)
        info = await asyncio.to_thread(self._store.create, ref, settings, await self._dim())
        logger.info("created knowledge base %s (%s)", ref, settings)
        return info, True

    async def _reindex(
        self,
        current: KnowledgeBaseInfo,
        settings: IndexSettings,
        documents: list[SourceDocument],
        keep: Sequence[str],
    ) -> IngestReport:
        if keep:
            raise InvalidArgument(
                "a re-index builds the new index from this request alone, so documents named "
                "in `keep` would be lost; send the whole corpus in one request without `keep`",
                field="keep",
            )
        self._check_embedding_model(settings)
        counted = await asyncio.to_thread(self._store.describe, current.ref, counts=True)
        report = await reindex(
            counted or current,
            settings,
            documents,
            dim=await self._dim(),
            store=self._store,
            run=asyncio.to_thread,
            token_spans=self._token_spans,
            embed=self._embed_documents,
            max_document_bytes=self._args.limits.max_document_bytes,
        )
        logger.info(
            "re-indexed knowledge base %s: %s → %s", current.ref, current.settings, settings
        )
        return report

    def _check_embedding_model(self, settings: IndexSettings) -> None:
        if settings.embedding_model != self._args.embedding.model:
            raise FailedPrecondition(
                f"this service embeds with {self._args.embedding.model!r}, not "
                f"{settings.embedding_model!r}",
                field="settings.embedding_model",
            )

    async def _dim(self) -> int:
        model_info: dict[str, Any] = await self._embedder.info.remote()
        return int(model_info["dim"])

    async def _token_spans(self, texts: Sequence[str]) -> list[list[TokenSpan]]:
        spans: list[list[TokenSpan]] = await self._embedder.token_spans.remote(list(texts))
        return spans

    async def _embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = await self._embedder.embed_documents.remote(texts)
        return vectors
