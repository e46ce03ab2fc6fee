"""The Milvus collection layout of a knowledge base: schema, indexes and settings properties.

Every collection version of a knowledge base is made here, so a re-index builds exactly what a
first ingest builds, with the new settings. The settings are kept in the collection's
properties, so every replica reads the same truth.
"""

from __future__ import annotations

import json
from typing import Any

from ragtune_serving.rag.records import IndexSettings, KnowledgeBaseRef

SETTINGS_PROPERTY = "ragtune.settings"
KB_PROPERTY = "ragtune.knowledge_base"
INGESTED_PROPERTY = "ragtune.last_ingested"
HNSW_PARAMS = {"M": 16, "efConstruction": 200}
MAX_TEXT_CHARS = 65_535
MAX_ID_CHARS = 1024


def collection_layout(client: Any, settings: IndexSettings, dim: int) -> tuple[Any, Any]:
    """The schema and index parameters of a collection holding chunks embedded in `dim`."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_CHARS)
    schema.add_field("document_id", DataType.VARCHAR, max_length=MAX_ID_CHARS)
    schema.add_field("chunk", DataType.INT64)
    schema.add_field(
        "text", DataType.VARCHAR, max_length=MAX_TEXT_CHARS, enable_analyzer=settings.hybrid
    )
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("source_uri", DataType.VARCHAR, max_length=2048)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    index.add_index("dense", index_type="HNSW", metric_type="COSINE", params=HNSW_PARAMS)
    index.add_index("document_id", index_type="INVERTED")
    if settings.hybrid:
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="text_bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return schema, index


def settings_properties(ref: KnowledgeBaseRef, settings: IndexSettings) -> dict[str, str]:
    """The collection properties recording which knowledge base it holds, and how."""
    return {
        SETTINGS_PROPERTY: json.dumps(
            {
                "chunk_size": settings.chunk_size,
                "chunk_overlap": settings.chunk_overlap,
                "hybrid": settings.hybrid,
                "embedding_model": settings.embedding_model,
            }
        ),
        KB_PROPERTY: str(ref),
    }


def read_settings(properties: dict[str, Any]) -> IndexSettings | None:
    """The settings a collection's properties record; None if they were never written."""
    raw = properties.get(SETTINGS_PROPERTY)
    return None if raw is None else IndexSettings(**json.loads(raw))
