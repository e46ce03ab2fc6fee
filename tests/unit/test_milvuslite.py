"""The cached search path of the embedded Milvus Lite answers exactly as Milvus Lite's own.

A real Milvus Lite collection (in process, in a temporary directory) goes through random
histories of inserts, upserts, deletes, flushes and background compactions; after every step,
searches with and without filters and partitions run through both paths on the same snapshot.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from milvus_lite.engine import collection as engine
from milvus_lite.schema.types import CollectionSchema, DataType, FieldSchema

from ragtune_serving.stores import milvuslite

DIM = 8
KEYS = [f"doc-{n}#0" for n in range(80)]
FILTERS = [None, "group == 1", "group in [0, 2]", "group > 5"]


def _collection(path: Path) -> Any:
    schema = CollectionSchema(
        fields=[
            FieldSchema("id", DataType.VARCHAR, is_primary=True, max_length=64),
            FieldSchema("dense", DataType.FLOAT_VECTOR, dim=DIM),
            FieldSchema("group", DataType.INT64),
        ]
    )
    collection = engine.Collection("chunks", str(path), schema)
    collection.create_partition("other")
    return collection


def _rows(rng: random.Random, keys: list[str]) -> list[dict[str, Any]]:
    return [
        {"id": key, "dense": [rng.uniform(-1, 1) for _ in range(DIM)], "group": rng.randrange(4)}
        for key in keys
    ]


def _both(collection: Any, rng: random.Random) -> tuple[list[Any], list[Any]]:
    """One random search through Milvus Lite's path and the cached one, on one snapshot."""
    segments, deletes = collection._read_snapshot()
    expr = rng.choice(FILTERS)
    compiled = collection._compile_filter(expr) if expr else None
    arguments: dict[str, Any] = {
        "query_vectors": np.asarray(
            [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(rng.choice([1, 3]))],
            dtype=np.float32,
        ),
        "segments": segments,
        "memtable": collection._memtable,
        "delta_index": deletes,
        "top_k": rng.choice([1, 5, 20, 100]),
        "metric_type": rng.choice(["COSINE", "L2"]),
        "pk_field": "id",
        "vector_field": "dense",
        "partition_names": rng.choice([None, ["_default"], ["other"]]),
        "compiled_filter": compiled,
        "indexed_filter_plan": collection._indexed_filter_plan(compiled) if compiled else None,
        "output_fields": rng.choice([None, ["group"]]),
    }
    stock = engine.execute_search_with_index(**arguments)
    cached = milvuslite.search_with_index(**arguments)
    return stock, cached


@pytest.mark.parametrize("seed", range(6))
def test_random_histories_search_alike(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    collection = _collection(tmp_path / "milvus")
    stored: set[str] = set()
    checked = 0
    try:
        for _step in range(60):
            action = rng.choice(["insert", "upsert", "delete", "flush", "flush", "compact"])
            partition = rng.choice(["_default", "_default", "other"])
            if action == "insert":
                fresh = [k for k in KEYS if k not in stored]
                keys = rng.sample(fresh, min(len(fresh), rng.randint(1, 12)))
                collection.insert(_rows(rng, keys), partition_name=partition)
                stored |= set(keys)
            elif action == "upsert" and stored:
                keys = rng.sample(sorted(stored), min(len(stored), rng.randint(1, 8)))
                collection.upsert(_rows(rng, keys), partition_name=partition)
            elif action == "delete" and stored:
                keys = rng.sample(sorted(stored), min(len(stored), rng.randint(1, 6)))
                collection.delete(keys)
                stored -= set(keys)
            elif action == "flush":
                collection.flush()
            elif action == "compact":
                collection._wait_for_bg()
            for _ in range(4):
                stock, cached = _both(collection, rng)
                assert cached == stock
                checked += sum(len(rows) for rows in stock)
        assert checked > 0
        found = {row["id"] for row in _both_unfiltered(collection)}
        assert found == stored
    finally:
        collection.close()


def _both_unfiltered(collection: Any) -> list[dict[str, Any]]:
    """Every visible row, by the cached path (a search for more rows than exist)."""
    segments, deletes = collection._read_snapshot()
    (rows,) = milvuslite.search_with_index(
        query_vectors=np.ones((1, DIM), dtype=np.float32),
        segments=segments,
        memtable=collection._memtable,
        delta_index=deletes,
        top_k=len(KEYS) * 4,
        metric_type="L2",
        pk_field="id",
        vector_field="dense",
    )
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "a key is visible twice"
    return rows


def test_install_replaces_the_search_of_the_supported_version_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import milvus_lite.search.executor_indexed as executor

    stock = engine.execute_search_with_index
    monkeypatch.setattr(engine, "execute_search_with_index", stock)
    monkeypatch.setattr(executor, "execute_search_with_index", stock)
    monkeypatch.setenv(milvuslite.STOCK_ENV, "1")
    assert milvuslite.install() is False
    assert engine.execute_search_with_index is stock
    monkeypatch.delenv(milvuslite.STOCK_ENV)
    monkeypatch.setattr(milvuslite, "SUPPORTED_VERSION", "0.0.0")
    assert milvuslite.install() is False
    assert engine.execute_search_with_index is stock
    monkeypatch.undo()
    monkeypatch.setattr(engine, "execute_search_with_index", stock)
    monkeypatch.setattr(executor, "execute_search_with_index", stock)
    assert milvuslite.install() is True
    assert engine.execute_search_with_index is milvuslite.search_with_index
    assert executor.execute_search_with_index is milvuslite.search_with_index
