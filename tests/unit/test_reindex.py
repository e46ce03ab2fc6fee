"""A re-index builds a new version beside the serving one and switches only when it is complete;
a failed build leaves the serving version alone and drops the partial one."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ragtune_serving.ingestion import reindex
from ragtune_serving.rag.chunking import TokenSpan, word_token_spans
from ragtune_serving.rag.records import (
    Chunk,
    IndexSettings,
    IngestReport,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    SourceDocument,
)

REF = KnowledgeBaseRef("team-a", "docs")
OLD = IndexSettings(chunk_size=64, chunk_overlap=16, hybrid=False, embedding_model="m")
NEW = IndexSettings(chunk_size=16, chunk_overlap=4, hybrid=False, embedding_model="m")
LONG = " ".join(f"Sentence {n} says something about shelves." for n in range(10))


class FakeStore:
    """Collection name → chunk id → (document id, content hash); `serving` is the alias target."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, tuple[str, str]]] = {"v1": {}}
        self.serving = "v1"
        self.fail_writes = False

    def current(self) -> KnowledgeBaseInfo:
        return KnowledgeBaseInfo(ref=REF, settings=OLD, collection="alias", chunks=self.chunks())

    def chunks(self, name: str | None = None) -> int:
        return len(self.collections[name or self.serving])

    def _rows(self, info: KnowledgeBaseInfo) -> dict[str, tuple[str, str]]:
        return self.collections[self.serving if info.collection == "alias" else info.collection]

    def document_hashes(self, info: KnowledgeBaseInfo, ids: Sequence[str]) -> dict[str, str]:
        return {doc: digest for doc, digest in self._rows(info).values() if doc in ids}

    def document_ids(self, info: KnowledgeBaseInfo) -> set[str]:
        return {doc for doc, _ in self._rows(info).values()}

    def write_chunks(
        self,
        info: KnowledgeBaseInfo,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        *,
        replace: bool,
    ) -> None:
        if self.fail_writes and chunks:
            raise ConnectionError("Milvus went away")
        self._rows(info).update({c.id: (c.document_id, c.content_hash) for c in chunks})

    def delete_stale(self, info: KnowledgeBaseInfo, current: Mapping[str, str]) -> int:
        return 0

    def commit(self, info: KnowledgeBaseInfo) -> None:
        pass

    def delete_documents(self, info: KnowledgeBaseInfo, document_ids: Sequence[str]) -> int:
        return 0

    def mark_ingested(self, info: KnowledgeBaseInfo, when: float | None = None) -> None:
        pass

    def create_version(
        self, ref: KnowledgeBaseRef, settings: IndexSettings, dim: int
    ) -> KnowledgeBaseInfo:
        name = f"v{len(self.collections) + 1}"
        self.collections[name] = {}
        return KnowledgeBaseInfo(ref=ref, settings=settings, collection=name)

    def promote(self, built: KnowledgeBaseInfo) -> None:
        self.serving = built.collection
        self.collections = {built.collection: self.collections[built.collection]}

    def discard(self, built: KnowledgeBaseInfo) -> None:
        del self.collections[built.collection]


async def _run(fn: Any, *args: Any) -> Any:
    return fn(*args)


async def _spans(texts: Sequence[str]) -> list[list[TokenSpan]]:
    return [word_token_spans(text) for text in texts]


async def _embed(texts: list[str]) -> list[list[float]]:
    return [[1.0, 0.0] for _ in texts]


def _reindex(store: FakeStore, documents: list[SourceDocument]) -> IngestReport:
    return asyncio.run(
        reindex(
            store.current(),
            NEW,
            documents,
            dim=2,
            store=store,
            run=_run,
            token_spans=_spans,
            embed=_embed,
            max_document_bytes=10_000,
        )
    )


def _doc(doc_id: str, text: str = LONG) -> SourceDocument:
    return SourceDocument(id=doc_id, content=text.encode())


@pytest.fixture
def store() -> FakeStore:
    store = FakeStore()
    store.collections["v1"] = {"a#0": ("a", "h1"), "b#0": ("b", "h2"), "b#1": ("b", "h2")}
    return store


def test_reindex_switches_to_the_new_version_and_reports_against_the_old(
    store: FakeStore,
) -> None:
    report = _reindex(store, [_doc("a"), _doc("c"), _doc("bad", "")])
    assert store.serving == "v2" and list(store.collections) == ["v2"]
    assert store.document_ids(store.current()) == {"a", "c"}
    assert report.reindexed and not report.created_knowledge_base
    outcomes = {r.id: r.outcome for r in report.results}
    assert outcomes == {"a": "updated", "c": "created", "bad": "refused", "b": "deleted"}
    assert report.chunks_written == store.chunks() > 2  # 16-token chunks: more than before
    assert report.chunks_deleted == 3
    assert report.total_ms > 0


def test_a_failed_build_keeps_the_old_version_serving_and_drops_the_new(
    store: FakeStore,
) -> None:
    store.fail_writes = True
    with pytest.raises(ConnectionError):
        _reindex(store, [_doc("a")])
    assert store.serving == "v1" and list(store.collections) == ["v1"]
    assert store.chunks() == 3
