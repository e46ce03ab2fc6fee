"""The retriever deployment: knowledge bases in Milvus — describe, search, ingest, delete."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from ragtune_serving.config import AppArgs
from ragtune_serving.errors import FailedPrecondition, NotFound
from ragtune_serving.ingestion import ingest
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
        self._create_lock = asyncio.Lock()

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
    ) -> IngestReport:
        """Add, update (and with prune, remove) documents; creates the knowledge base if new."""
        info, created = await self._ensure(ref, settings)
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
        info = await self.describe(ref)
        existing = await asyncio.to_thread(self._store.document_hashes, info, document_ids)
        found = [i for i in dict.fromkeys(document_ids) if i in existing]
        deleted = await asyncio.to_thread(self._store.delete_documents, info, found)
        if deleted:
            await asyncio.to_thread(self._store.commit, info)
            await asyncio.to_thread(self._store.mark_ingested, info)
        missing = [i for i in dict.fromkeys(document_ids) if i not in existing]
        return DeleteReport(deleted=found, not_found=missing, chunks_deleted=deleted)

    async def check_health(self) -> None:
        """Serve's health check: Milvus must answer."""
        await asyncio.to_thread(self._store.ping)

    async def _ensure(
        self, ref: KnowledgeBaseRef, requested: IndexSettings | None
    ) -> tuple[KnowledgeBaseInfo, bool]:
        async with self._create_lock:
            info = await asyncio.to_thread(self._store.describe, ref)
            if info is not None:
                if requested is not None and requested != info.settings:
                    raise FailedPrecondition(
                        f"knowledge base {ref} exists with settings {info.settings}; "
                        f"{requested} would need a re-index into a new knowledge base",
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
            if settings.embedding_model != self._args.embedding.model:
                raise FailedPrecondition(
                    f"this service embeds with {self._args.embedding.model!r}, not "
                    f"{settings.embedding_model!r}",
                    field="settings.embedding_model",
                )
            model_info: dict[str, Any] = await self._embedder.info.remote()
            info = await asyncio.to_thread(
                self._store.create, ref, settings, int(model_info["dim"])
            )
            logger.info("created knowledge base %s (%s)", ref, settings)
            return info, True

    async def _token_spans(self, texts: Sequence[str]) -> list[list[TokenSpan]]:
        spans: list[list[TokenSpan]] = await self._embedder.token_spans.remote(list(texts))
        return spans

    async def _embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = await self._embedder.embed_documents.remote(texts)
        return vectors
