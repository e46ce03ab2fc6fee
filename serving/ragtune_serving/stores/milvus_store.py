"""Knowledge bases in Milvus: collection versions of a knowledge base, queried through an alias.

The same code talks to a local Milvus Lite server and to a Milvus cluster (`MilvusClient(uri)`).
A knowledge base is born as collection `<alias>_v1`; a re-index builds `<alias>_v<n+1>` beside
the current version, then switches the alias to it and drops the old one, so queries never see a
half-built index. Layout and settings properties: stores/milvus_schema.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ragtune_serving.errors import NotFound, Unavailable
from ragtune_serving.rag.filters import in_expression, string_literal
from ragtune_serving.rag.kbnames import collection_alias, collection_name
from ragtune_serving.rag.records import (
    Chunk,
    Hit,
    IndexSettings,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
)
from ragtune_serving.stores.milvus_schema import (
    INGESTED_PROPERTY,
    MAX_TEXT_CHARS,
    collection_layout,
    read_settings,
    settings_properties,
)

if TYPE_CHECKING:
    from pymilvus import MilvusClient

# pymilvus pings every 10 s, idle or not. A Milvus Lite server keeps gRPC's default policy (no
# more than one ping per 5 min on a channel without calls) and answers with GOAWAY "too many
# pings", which breaks the channel that every client of this process shares: a call or a new
# client can then fail. Pinging only while a call is in flight suits both Lite and Milvus.
GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False}

SEARCH_EF = 64
RRF_K = 60
OUTPUT_FIELDS = ["document_id", "chunk", "text", "source_uri", "metadata"]
QUERY_PAGE = 1000
WRITE_BATCH = 2000
COMPACT_EVERY_FLUSHES = 8


def connect(uri: str, *, token: str = "", timeout_s: float = 10.0) -> MilvusClient:
    """A client of the Milvus (or Milvus Lite server) at `uri`, with keepalive pings it accepts."""
    from pymilvus import MilvusClient

    return MilvusClient(uri, token=token, timeout=timeout_s, grpc_options=dict(GRPC_OPTIONS))


class MilvusKnowledgeStore:
    """Create, fill, search and empty the Milvus collections of knowledge bases."""

    def __init__(
        self, uri: str, *, token: str = "", timeout_s: float = 10.0, search_ef: int = SEARCH_EF
    ) -> None:
        """`search_ef`: HNSW candidate list per dense search (raised to top_k when smaller):
        higher finds more of the true nearest chunks, at more latency."""
        self._uri = uri
        self._timeout = timeout_s
        self._search_ef = search_ef
        try:
            self._client = connect(uri, token=token, timeout_s=timeout_s)
        except Exception as error:
            raise Unavailable(f"cannot connect to Milvus at {uri}: {error}") from error
        self._flushes: dict[str, int] = {}

    def ping(self) -> None:
        """Raise `Unavailable` unless Milvus answers."""
        self._call(self._client.list_collections)

    # -- knowledge bases -------------------------------------------------------------------

    def describe(self, ref: KnowledgeBaseRef, *, counts: bool = False) -> KnowledgeBaseInfo | None:
        """The knowledge base's settings (and counts), or None when it does not exist."""
        alias = collection_alias(ref)
        if not self._call(self._client.has_collection, alias):
            return None
        description = self._call(self._client.describe_collection, alias)
        properties = description.get("properties") or {}
        settings = read_settings(properties)
        if settings is None:
            return None  # created but never finished; `create` repairs it
        self._ensure_loaded(alias)
        info = KnowledgeBaseInfo(
            ref=ref,
            settings=settings,
            collection=alias,
            last_ingested=float(properties.get(INGESTED_PROPERTY, 0.0)),
        )
        if not counts:
            return info
        documents, chunks = self._counts(alias)
        return replace(info, documents=documents, chunks=chunks)

    def _counts(self, alias: str) -> tuple[int, int]:
        """Documents and chunks of the one version `alias` points at: counted on that version,
        so a re-index switching the alias between the two counts cannot mix versions. A version
        dropped right after a switch is counted again on the new target."""
        for _ in range(3):
            target = self._target(alias)
            try:
                return self._count(target, "chunk == 0"), self._count(target, "")
            except NotFound:
                continue
        raise Unavailable(f"knowledge base behind {alias} kept changing versions while counted")

    def create(self, ref: KnowledgeBaseRef, settings: IndexSettings, dim: int) -> KnowledgeBaseInfo:
        """Create the collection (version 1) and its alias; idempotent."""
        alias = collection_alias(ref)
        physical = collection_name(ref, 1)
        self._create_collection(physical, ref, settings, dim)
        if alias not in self._call(self._client.list_aliases, physical).get("aliases", []):
            self._call(self._client.create_alias, physical, alias)
        return KnowledgeBaseInfo(ref=ref, settings=settings, collection=alias)

    def create_version(
        self, ref: KnowledgeBaseRef, settings: IndexSettings, dim: int
    ) -> KnowledgeBaseInfo:
        """A new, empty collection version beside the current one, for a re-index.

        The returned info names the new collection itself: ingest into it, then `promote` it.
        Queries keep going through the alias to the current version meanwhile.
        """
        version = max(self._versions(ref), default=0) + 1
        physical = collection_name(ref, version)
        self._create_collection(physical, ref, settings, dim)
        return KnowledgeBaseInfo(ref=ref, settings=settings, collection=physical)

    def promote(self, built: KnowledgeBaseInfo) -> None:
        """Switch the alias to the version `create_version` made, then drop every other version."""
        alias = collection_alias(built.ref)
        self._call(self._client.alter_alias, built.collection, alias)
        for name in self._versions(built.ref).values():
            if name != built.collection:
                self._call(self._client.drop_collection, name)
        self._flushes.pop(alias, None)
        self._flushes.pop(built.collection, None)

    def discard(self, built: KnowledgeBaseInfo) -> None:
        """Drop a version `create_version` made that will not be promoted (a failed re-index)."""
        if not self._call(self._client.has_collection, built.collection):
            return
        if self._call(self._client.list_aliases, built.collection).get("aliases"):
            raise ValueError(f"{built.collection} serves {built.ref}; it is not discarded")
        self._call(self._client.drop_collection, built.collection)
        self._flushes.pop(built.collection, None)

    def drop(self, ref: KnowledgeBaseRef) -> bool:
        """Drop the knowledge base: its alias, then every collection version.

        True if any of them was there. Dropping an absent knowledge base is not an error, so a
        retried drop finishes what an interrupted one began.
        """
        alias = collection_alias(ref)
        has_alias = bool(self._call(self._client.has_collection, alias))
        versions = self._versions(ref)
        if has_alias:
            self._call(self._client.drop_alias, alias)
        for name in versions.values():
            self._call(self._client.drop_collection, name)
        self._flushes.pop(alias, None)
        return has_alias or bool(versions)

    def mark_ingested(self, info: KnowledgeBaseInfo, when: float | None = None) -> None:
        """Record when the knowledge base last changed."""
        alias = collection_alias(info.ref)
        physical = info.collection if info.collection != alias else self._target(alias)
        stamp = f"{time.time() if when is None else when:.3f}"
        self._call(self._client.alter_collection_properties, physical, {INGESTED_PROPERTY: stamp})

    # -- documents -------------------------------------------------------------------------

    def document_hashes(
        self, info: KnowledgeBaseInfo, document_ids: Sequence[str]
    ) -> dict[str, str]:
        """Stored content hash per document id, for the ids that exist."""
        hashes: dict[str, str] = {}
        for batch in _batches(document_ids, QUERY_PAGE):
            rows = self._call(
                self._client.query,
                info.collection,
                filter=f"chunk == 0 and {in_expression('document_id', batch)}",
                output_fields=["document_id", "content_hash"],
                limit=len(batch),
            )
            hashes.update({row["document_id"]: row["content_hash"] for row in rows})
        return hashes

    def document_ids(self, info: KnowledgeBaseInfo) -> set[str]:
        """Every document id stored in the knowledge base."""
        iterator = self._call(
            self._client.query_iterator,
            info.collection,
            batch_size=QUERY_PAGE,
            filter="chunk == 0",
            output_fields=["document_id"],
        )
        ids: set[str] = set()
        try:
            while page := iterator.next():
                ids.update(row["document_id"] for row in page)
        finally:
            iterator.close()
        return ids

    def write_chunks(
        self,
        info: KnowledgeBaseInfo,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        *,
        replace: bool,
    ) -> None:
        """Write chunks in one call: `insert` for new documents, `upsert` to replace ids.

        Inserting what is new keeps Milvus's delete log (which every search masks) small.
        """
        if not chunks:
            return
        rows = [
            {
                "id": chunk.id,
                "document_id": chunk.document_id,
                "chunk": chunk.number,
                "text": chunk.text[:MAX_TEXT_CHARS],
                "content_hash": chunk.content_hash,
                "source_uri": chunk.source_uri,
                "metadata": dict(chunk.metadata),
                "dense": [float(x) for x in vector],
            }
            for chunk, vector in zip(chunks, vectors, strict=True)
        ]
        for start in range(0, len(rows), WRITE_BATCH):
            method = self._client.upsert if replace else self._client.insert
            self._call(method, info.collection, rows[start : start + WRITE_BATCH])

    def delete_stale(self, info: KnowledgeBaseInfo, current: Mapping[str, str]) -> int:
        """Delete chunks of the given documents whose hash is not the current one.

        Called after the new chunks are written, so a failure half-way leaves every document
        queryable; re-running the ingest finishes the job. Returns chunks deleted.
        """
        deleted = 0
        items = sorted(current.items())
        for start in range(0, len(items), QUERY_PAGE // 10):
            expression = " or ".join(
                f"({in_expression('document_id', [doc])} and content_hash != "
                f"{string_literal(digest)})"
                for doc, digest in items[start : start + QUERY_PAGE // 10]
            )
            deleted += self._delete(info.collection, expression)
        return deleted

    def commit(self, info: KnowledgeBaseInfo) -> None:
        """Seal what was written so searches use the index, not a brute-force scan.

        Milvus keeps fresh rows in a growing segment that every search scans row by row (at
        9k rows, 280 ms against 6 ms once flushed). Each flush seals a segment with its own
        index; every few flushes a compaction is asked for, to merge them again (a Milvus
        server runs it; Milvus Lite ignores the request and compacts by itself after flushes,
        once four files of a size class pile up). A freshly sealed segment is searched by brute
        force until its index is built in the background (Milvus Lite: ~80 s for 100k rows).
        """
        self._call(self._client.flush, info.collection)
        self._flushes[info.collection] = self._flushes.get(info.collection, 0) + 1
        if self._flushes[info.collection] >= COMPACT_EVERY_FLUSHES:
            self._call(self._client.compact, info.collection)
            self._flushes[info.collection] = 0

    def delete_documents(self, info: KnowledgeBaseInfo, document_ids: Sequence[str]) -> int:
        """Delete every chunk of the given documents; returns chunks deleted."""
        deleted = 0
        for batch in _batches(document_ids, QUERY_PAGE):
            deleted += self._delete(info.collection, in_expression("document_id", batch))
        return deleted

    # -- search ----------------------------------------------------------------------------

    def search(
        self,
        info: KnowledgeBaseInfo,
        vector: Sequence[float],
        question: str,
        *,
        top_k: int,
        filter_expression: str = "",
    ) -> list[Hit]:
        """Top-k chunks: dense cosine search, or dense + BM25 fused with RRF when hybrid."""
        dense_params = {"metric_type": "COSINE", "params": {"ef": max(self._search_ef, top_k)}}
        query_vector = [float(x) for x in vector]
        if not info.settings.hybrid:
            results = self._call(
                self._client.search,
                info.collection,
                data=[query_vector],
                anns_field="dense",
                limit=top_k,
                filter=filter_expression,
                output_fields=OUTPUT_FIELDS,
                search_params=dense_params,
            )
            return [_hit(row, similarity=float(row["distance"])) for row in results[0]]

        from pymilvus import AnnSearchRequest, RRFRanker

        requests = [
            AnnSearchRequest([query_vector], "dense", dense_params, top_k, expr=filter_expression),
            AnnSearchRequest(
                [question], "sparse", {"metric_type": "BM25"}, top_k, expr=filter_expression
            ),
        ]
        results = self._call(
            self._client.hybrid_search,
            info.collection,
            requests,
            RRFRanker(RRF_K),
            limit=top_k,
            output_fields=[*OUTPUT_FIELDS, "dense"],
        )
        return [
            _hit(row, similarity=_cosine(query_vector, row["entity"]["dense"]))
            for row in results[0]
        ]

    # -- internals -------------------------------------------------------------------------

    def _create_collection(
        self, physical: str, ref: KnowledgeBaseRef, settings: IndexSettings, dim: int
    ) -> None:
        """Create collection `physical` (unless it exists) and record `settings` on it."""
        if not self._call(self._client.has_collection, physical):
            schema, index = collection_layout(self._client, settings, dim)
            self._call(
                self._client.create_collection,
                physical,
                schema=schema,
                index_params=index,
                consistency_level="Strong",
            )
        properties = settings_properties(ref, settings)
        self._call(self._client.alter_collection_properties, physical, properties)

    def _versions(self, ref: KnowledgeBaseRef) -> dict[int, str]:
        """Version number → collection name, for every collection version of `ref`."""
        prefix = collection_alias(ref) + "_v"
        names: list[str] = self._call(self._client.list_collections)
        return {
            int(name[len(prefix) :]): name
            for name in names
            if name.startswith(prefix) and name[len(prefix) :].isdigit()
        }

    def _target(self, alias: str) -> str:
        """The collection `alias` points at."""
        target: str = self._call(self._client.describe_alias, alias)["collection_name"]
        return target

    def _ensure_loaded(self, collection: str) -> None:
        """Load a released collection (Milvus Lite releases every collection on restart)."""
        state = self._call(self._client.get_load_state, collection)["state"]
        if getattr(state, "name", str(state)) != "Loaded":
            self._call(self._client.load_collection, collection)

    def _count(self, collection: str, expression: str) -> int:
        rows = self._call(
            self._client.query, collection, filter=expression, output_fields=["count(*)"]
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def _delete(self, collection: str, expression: str) -> int:
        result = self._call(self._client.delete, collection, filter=expression)
        if isinstance(result, dict):
            return int(result.get("delete_count", 0))
        return len(result)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Call pymilvus; a connection failure becomes `Unavailable` naming the uri."""
        from pymilvus.exceptions import MilvusException

        try:
            return method(*args, **kwargs)
        except MilvusException as error:
            if _is_connection_error(error):
                raise Unavailable(f"Milvus at {self._uri} is unreachable: {error}") from error
            if "not found" in str(error).lower() or "not exist" in str(error).lower():
                raise NotFound(f"Milvus: {error}") from error
            raise


def _hit(row: dict[str, Any], *, similarity: float) -> Hit:
    entity = row["entity"]
    return Hit(
        chunk_id=str(row["id"]),
        document_id=entity["document_id"],
        chunk=int(entity["chunk"]),
        text=entity["text"],
        score=float(row["distance"]),
        similarity=similarity,
        source_uri=entity.get("source_uri", ""),
        metadata={str(k): str(v) for k, v in (entity.get("metadata") or {}).items()},
    )


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5
    return dot / norm if norm else 0.0


def _batches(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _is_connection_error(error: Exception) -> bool:
    text = str(error).lower()
    return any(
        marker in text
        for marker in ("unavailable", "connect", "deadline", "timeout", "fail connecting")
    )
