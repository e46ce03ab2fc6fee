"""A KnowledgeBase's sources → the documents its index must hold, and a digest of them.

The operator sends the whole set to the gateway's Ingest (with `prune` and `reindex`): the
gateway skips unchanged documents by content hash, so a resync costs one request. The digest
(documents plus index settings) lets the operator skip even that request when nothing changed.
Pure: fetched ConfigMaps, URLs and files come in as arguments.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from ragtune_operator.specs import KnowledgeBaseSpec


class Document(TypedDict):
    """A `ragtune.v1.Document` in its JSON form (content base64, as proto JSON has it)."""

    id: str
    content: str
    sourceUri: str
    metadata: dict[str, str]


def document(
    doc_id: str, text: bytes, uri: str, metadata: Mapping[str, str] | None = None
) -> Document:
    return {
        "id": doc_id,
        "content": base64.b64encode(text).decode(),
        "sourceUri": uri,
        "metadata": dict(metadata or {}),
    }


def inline_documents(spec: KnowledgeBaseSpec, namespace: str, name: str) -> list[Document]:
    return [
        document(d.id, d.text.encode(), f"kb://{namespace}/{name}/{d.id}", d.metadata)
        for source in spec.sources
        for d in source.inline or ()
    ]


def config_map_documents(
    namespace: str, name: str, data: Mapping[str, str], binary_data: Mapping[str, str]
) -> list[Document]:
    """Each key of a ConfigMap is a document named by its key."""
    uri = f"configmap://{namespace}/{name}/"
    texts = {key: value.encode() for key, value in data.items()}
    texts.update({key: base64.b64decode(value) for key, value in binary_data.items()})
    return [document(key, texts[key], uri + key) for key in sorted(texts)]


def index_settings(spec: KnowledgeBaseSpec) -> dict[str, Any]:
    """The `ragtune.v1.KnowledgeBaseSettings` JSON the index is built with."""
    return {
        "chunkSize": spec.chunking.size,
        "chunkOverlap": spec.chunking.overlap,
        "hybrid": spec.vector_store.hybrid,
        "embeddingModel": spec.embedding.model,
    }


def duplicate_ids(documents: Sequence[Document]) -> list[str]:
    seen: set[str] = set()
    duplicates: set[str] = set()
    for d in documents:
        (duplicates if d["id"] in seen else seen).add(d["id"])
    return sorted(duplicates)


def digest(documents: Sequence[Document], settings: Mapping[str, Any]) -> str:
    """Changes when any document, its metadata or the index settings change."""
    payload = json.dumps(
        {"documents": sorted(documents, key=lambda d: d["id"]), "settings": settings},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
