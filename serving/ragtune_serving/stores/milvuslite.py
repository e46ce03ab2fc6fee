"""The embedded Milvus Lite server, with a search path that does not walk every row.

Milvus Lite 3.2.2 decides at every search, row by row in Python, which rows are visible: the
newest version of each primary key that no later delete shadows. At 100k chunks that walk is
~54 ms of a ~55 ms search; the vector index itself answers in under a millisecond. Segments
are immutable, so which of their rows is the newest version *among the segments* depends only
on the set of segments. Here that is worked out once per set (compaction and flushes make a new
set) and each search applies only what changes between searches: the rows still in the
memtable and the deletes. Results are the same as the stock path's, tie order included
(tests/unit/test_milvuslite.py runs both on random histories of inserts, upserts, deletes,
flushes and compactions).

`python -m ragtune_serving.stores.milvuslite server ARGS` runs `milvus-lite server ARGS` with
this path installed when the installed milvus-lite is the version it was written against,
and the stock path otherwise. Set RAGTUNE_MILVUS_LITE_STOCK_SEARCH=1 to keep the stock path.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

SUPPORTED_VERSION = "3.2.2"
STOCK_ENV = "RAGTUNE_MILVUS_LITE_STOCK_SEARCH"
_CACHED_SETS = 16  # segment sets kept: a search holds an older set while a flush swaps it


class _Winners:
    """For one set of segments: per segment, the rows that hold the newest version of their
    key among the set, and where each key's newest version is."""

    def __init__(self, segments: Sequence[Any]) -> None:
        self.segments = tuple(segments)  # held: ids of live objects are never reused
        newest: dict[Any, tuple[int, int, int]] = {}  # key → (seq, segment, row)
        for number, segment in enumerate(self.segments):
            for row, (key, seq) in enumerate(zip(segment.pks, segment.seqs.tolist(), strict=True)):
                found = newest.get(key)
                if found is None or seq > found[0]:
                    newest[key] = (seq, number, row)
        self.masks = [np.zeros(segment.num_rows, dtype=bool) for segment in self.segments]
        for _, number, row in newest.values():
            self.masks[number][row] = True
        self.newest = newest


class _WinnerCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[tuple[int, ...], _Winners] = {}

    def get(self, segments: Sequence[Any]) -> _Winners:
        key = tuple(id(segment) for segment in segments)
        with self._lock:
            found = self._sets.get(key)
        if found is not None:
            return found
        made = _Winners(segments)
        with self._lock:
            if len(self._sets) >= _CACHED_SETS:
                self._sets.pop(next(iter(self._sets)))
            self._sets[key] = made
        return made


_winners = _WinnerCache()


def search_with_index(
    query_vectors: np.ndarray,
    segments: Any,
    memtable: Any,
    delta_index: Any,
    top_k: int,
    metric_type: str,
    pk_field: str,
    vector_field: str,
    partition_names: list[str] | None = None,
    compiled_filter: Any = None,
    output_fields: list[str] | None = None,
    indexed_filter_plan: Any = None,
    project_record_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    search_params: dict[str, Any] | None = None,
) -> list[list[dict[str, Any]]]:
    """Milvus Lite's `execute_search_with_index`, same arguments and results, with the
    segments' newest-version rows cached per segment set."""
    from milvus_lite.index.brute_force import BruteForceIndex

    if query_vectors.ndim == 1:
        query_vectors = query_vectors.reshape(1, -1)
    query_vectors = query_vectors.astype(np.float32, copy=False)
    queries = int(query_vectors.shape[0])
    if queries == 0 or top_k <= 0:
        return [[] for _ in range(queries)]
    partitions = set(partition_names) if partition_names else None
    in_scope = [
        s for s in segments if s.num_rows > 0 and (partitions is None or s.partition in partitions)
    ]
    mt_pks, mt_seqs, mt_vectors, mt_refs, mt_table = memtable.to_search_snapshot(
        vector_field=vector_field,
        partition_names=partition_names,
        include_table=compiled_filter is not None,
    )
    if not in_scope and not mt_pks:
        return [[] for _ in range(queries)]

    winners = _winners.get(in_scope)
    masks = list(winners.masks)  # copied before a change: the cached ones are shared
    changed: set[int] = set()

    def hide(number: int, row: int) -> None:
        if number not in changed:
            masks[number] = masks[number].copy()
            changed.add(number)
        masks[number][row] = False

    # A memtable row (one per key: the memtable keeps only each key's newest) hides the
    # segments' version of its key when it is newer.
    mt_seq_list = [int(s) for s in mt_seqs.tolist()] if mt_pks else []
    for key, seq in zip(mt_pks, mt_seq_list, strict=True):
        found = winners.newest.get(key)
        if found is not None and found[0] < seq:
            hide(found[1], found[2])

    # Deletes newer than the version they would otherwise leave visible: the flushed ones
    # (`delta_index`, already a copy made for this search) and the memtable's own.
    flushed_deletes: dict[Any, int] = delta_index._map
    mt_deletes: dict[Any, int] = {
        key: entry[0] for key, entry in memtable.delete_index_snapshot().items()
    }

    def deleted_after(key: Any) -> int:
        return max(flushed_deletes.get(key, -1), mt_deletes.get(key, -1))

    for deletes in (flushed_deletes, mt_deletes):
        for key, deleted in deletes.items():
            found = winners.newest.get(key)
            if found is not None and deleted > found[0] and masks[found[1]][found[2]]:
                hide(found[1], found[2])

    mt_mask = np.zeros(len(mt_pks), dtype=bool)
    for position, (key, seq) in enumerate(zip(mt_pks, mt_seq_list, strict=True)):
        segment_newest = winners.newest.get(key)
        newer_in_segments = segment_newest is not None and segment_newest[0] > seq
        mt_mask[position] = not newer_in_segments and deleted_after(key) <= seq

    seg_filters: dict[int, np.ndarray] = {}
    mt_filter: np.ndarray | None = None
    if compiled_filter is not None:
        from milvus_lite.search.filter import evaluate_mask
        from milvus_lite.search.indexed_filter import evaluate_segment_filter

        for number, segment in enumerate(in_scope):
            seg_filters[number] = evaluate_segment_filter(
                segment, compiled_filter, indexed_filter_plan
            )
        if mt_pks and mt_table is not None:
            mt_filter = evaluate_mask(compiled_filter, mt_table)

    candidates: list[list[tuple[float, int, int]]] = [[] for _ in range(queries)]

    def recall(source: int, mask: np.ndarray, vectors: np.ndarray, index: Any) -> None:
        if not mask.any():
            return
        if index is None:
            index = BruteForceIndex.build(vectors, metric_type)
        ids, distances = index.search(
            query_vectors, top_k, valid_mask=None if mask.all() else mask, params=search_params
        )
        for q in range(queries):
            for j in range(top_k):
                local = int(ids[q, j])
                if local < 0:
                    break
                candidates[q].append((float(distances[q, j]), source, local))

    for number, segment in enumerate(in_scope):
        vectors, not_null = segment.vector_data(vector_field)
        mask = masks[number]
        if number in seg_filters:
            mask = mask & seg_filters[number].astype(bool)
        if not_null is not None:
            mask = mask & not_null
        recall(number, mask, vectors, segment.indexes.get(vector_field))
    if mt_pks:
        mask = mt_mask if mt_filter is None else mt_mask & mt_filter.astype(bool)
        recall(len(in_scope), mask, mt_vectors, None)

    project = project_record_fn or _projection(pk_field, vector_field, output_fields)
    results = []
    for q in range(queries):
        ranked = sorted(candidates[q], key=lambda c: (c[0], c[1], c[2]))[:top_k]
        rows = []
        for distance, source, local in ranked:
            if source < len(in_scope):
                record = in_scope[source].row_to_dict(local)
                fallback = in_scope[source].pks[local]
            else:
                record = memtable.materialize_row(*mt_refs[local])
                fallback = mt_pks[local]
            key = record.get(pk_field) if pk_field in record else fallback
            rows.append({"id": key, "distance": distance, "entity": project(record)})
        results.append(rows)
    return results


def _projection(
    pk_field: str, vector_field: str, output_fields: list[str] | None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    if output_fields is None:
        return lambda record: {k: v for k, v in record.items() if k not in (pk_field, vector_field)}
    keep = set(output_fields) - {pk_field}
    return lambda record: {k: record[k] for k in keep if k in record}


def install() -> bool:
    """Put `search_with_index` in Milvus Lite's place; False (stock path kept) when the
    installed milvus-lite is not SUPPORTED_VERSION or the stock path is asked for."""
    version = importlib.metadata.version("milvus-lite")
    if os.environ.get(STOCK_ENV) == "1" or version != SUPPORTED_VERSION:
        return False
    import milvus_lite.engine.collection as collection
    import milvus_lite.search.executor_indexed as executor

    collection.execute_search_with_index = search_with_index
    executor.execute_search_with_index = search_with_index
    return True


def main(argv: list[str] | None = None) -> int:
    """`milvus-lite ARGS`, with the cached search path where it applies."""
    from milvus_lite.cmdline import main as milvus_lite_main

    version = importlib.metadata.version("milvus-lite")
    path = "search with cached row visibility" if install() else "its stock search"
    print(f"ragtune: Milvus Lite {version}, {path}", file=sys.stderr, flush=True)
    return int(milvus_lite_main(argv))


if __name__ == "__main__":
    sys.exit(main())
