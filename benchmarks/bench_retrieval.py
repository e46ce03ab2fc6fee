"""Retrieval benchmark: ragtune's retrieve stage over Milvus Lite at 10k and 100k chunks of
real text, side by side in one run with Chroma (embedded, in the peers' own virtualenv) and
exact search in numpy (`argpartition`, the floor): p50/p99 latency of a top-10 search and
recall@10 against exact.

Tuning, before and after in the same run: ragtune's Milvus Lite server (the launcher in
stores/milvuslite.py) beside one that keeps Milvus Lite's own search path, and the HNSW search
ef swept on ragtune's collection (the retriever's ef first).

The corpus is docstrings of the installed packages cut by ragtune's chunker (corpus.py),
embedded by the packaged model (cached in benchmarks/.cache). Queries are questions made from
chunks' first sentences, embedded the same way; every path searches the same vectors.

Writes benchmarks/results/<date>-<host>-retrieval.json, .md and .png. Run:
`python benchmarks/bench_retrieval.py [--sizes 10000,100000] [--queries 200]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import peers
from measure import machine, percentiles, recall_at, write_results

from ragtune_serving import local
from ragtune_serving.config import PACKAGED_EMBEDDING
from ragtune_serving.rag.kbnames import parse_kb_ref
from ragtune_serving.rag.records import Chunk, IndexSettings
from ragtune_serving.stores import milvuslite
from ragtune_serving.stores.milvus_store import SEARCH_EF, MilvusKnowledgeStore

K = 10
WRITE_BATCH = 2000
RAGTUNE = "ragtune, Milvus Lite HNSW (ef {ef})"
STOCK = "before: Milvus Lite's own search path (ef {ef})"
EF_SWEEP = (16, 32, 128)  # the retriever's ef is SEARCH_EF; these are tried beside it


def exact(matrix: np.ndarray, queries: np.ndarray) -> tuple[list[list[int]], list[float]]:
    """Top-K rows by inner product (cosine: the vectors are normalised), one query at a time."""
    found, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        scores = matrix @ query
        top = np.argpartition(-scores, K)[:K]
        found.append([int(i) for i in top[np.argsort(-scores[top])]])
        latencies.append((time.perf_counter() - started) * 1000)
    return found, latencies


def milvus(
    uri: str,
    name: str,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    texts: list[str],
    queries: np.ndarray,
    *,
    label: str,
    efs: Sequence[int],
) -> dict[str, dict[str, Any]]:
    """ragtune's store, as ingestion writes it and the retriever searches it: one row per ef
    tried on the same collection (the retriever's first)."""
    store = MilvusKnowledgeStore(uri, timeout_s=600)
    settings = IndexSettings(48, 8, hybrid=False, embedding_model=PACKAGED_EMBEDDING)
    info = store.create(parse_kb_ref(f"bench/{name}"), settings, vectors.shape[1])
    started = time.perf_counter()
    for start in range(0, len(chunks), WRITE_BATCH):
        end = start + WRITE_BATCH
        store.write_chunks(info, chunks[start:end], vectors[start:end].tolist(), replace=False)
    store.commit(info)  # one flush: few segments, so no compaction re-sealing them meanwhile
    built_s = time.perf_counter() - started
    # Steady state: a flushed segment is searched by brute force until Milvus Lite's background
    # build gives it its index; loading builds every missing one now.
    store._client.release_collection(info.collection)
    store._client.load_collection(info.collection)
    position = {chunk.id: i for i, chunk in enumerate(chunks)}
    rows = {}
    for ef in efs:
        searcher = MilvusKnowledgeStore(uri, timeout_s=600, search_ef=ef)
        searcher.search(info, queries[0].tolist(), texts[0], top_k=K)  # load, warm up
        found, latencies = [], []
        for query, text in zip(queries, texts, strict=True):
            started = time.perf_counter()
            hits = searcher.search(info, query.tolist(), text, top_k=K)
            latencies.append((time.perf_counter() - started) * 1000)
            found.append([position[h.chunk_id] for h in hits])
        rows[label.format(ef=ef)] = {
            "build_s": round(built_s, 1),
            "latencies_ms": latencies,
            "found": found,
        }
    return rows


def chroma(
    vectors: np.ndarray, texts: list[str], queries: np.ndarray, work: Path
) -> dict[str, Any]:
    """Chroma embedded (PersistentClient), HNSW with the same M/efConstruction/ef as ragtune."""
    source, out = work / "chroma-in.npz", work / "chroma-out.json"
    ids = np.arange(len(vectors)).astype(str)
    np.savez(source, vectors=vectors, queries=queries, ids=ids, texts=np.asarray(texts))
    peers.run("chroma_search.py", str(source), str(out), "--k", str(K))
    report = json.loads(out.read_text())
    return {
        "build_s": round(report["build_s"], 1),
        "latencies_ms": report["latencies_ms"],
        "found": [[int(i) for i in ids] for ids in report["ids"]],
        "version": report["chromadb"],
    }


def tier(
    uris: dict[str, str], chunks: list[Chunk], vectors: np.ndarray, questions: list[str],
    query_vectors: np.ndarray, work: Path,
) -> dict[str, Any]:  # fmt: skip
    size = len(chunks)
    truth, exact_ms = exact(vectors, query_vectors)
    rows = {"numpy exact (floor)": {"latencies_ms": exact_ms, "found": truth, "build_s": 0.0}}
    print(f"  {size}: Milvus…", flush=True)
    search = (chunks, vectors, questions, query_vectors)
    efs = (SEARCH_EF, *EF_SWEEP)
    rows.update(milvus(uris["ragtune"], f"r{size}", *search, label=RAGTUNE, efs=efs))
    print(f"  {size}: Milvus Lite, stock search…", flush=True)
    rows.update(milvus(uris["stock"], f"s{size}", *search, label=STOCK, efs=(SEARCH_EF,)))
    print(f"  {size}: Chroma…", flush=True)
    rows["Chroma HNSW"] = chroma(vectors, [c.text for c in chunks], query_vectors, work)
    return {
        "chunks": size,
        "paths": {
            name: {
                "latency_ms": percentiles(row["latencies_ms"]),
                "recall_at_10": round(recall_at(row["found"], truth), 4),
                "build_s": row["build_s"],
                **({"version": row["version"]} if "version" in row else {}),
            }
            for name, row in rows.items()
        },
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"# Retrieval benchmark — {result['date']}",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}, "
        f"{m['gpu'] or 'no GPU'}, Python {m['python']}. Top-{K} dense search, "
        f"{result['queries']} queries, one at a time; recall@{K} against exact search. "
        "write s: inserting the vectors (Milvus: and one flush; its index builds are then "
        "finished by a load before searching; Chroma indexes as it inserts).",
        "",
    ]
    for t in result["tiers"]:
        lines += [
            f"## {t['chunks']:,} chunks",
            "",
            "| path | p50 ms | p99 ms | recall@10 | write s |",
            "|---|---|---|---|---|",
        ]
        for name, row in t["paths"].items():
            lines.append(
                f"| {name} | {row['latency_ms']['p50']} | {row['latency_ms']['p99']} "
                f"| {row['recall_at_10']} | {row['build_s']} |"
            )
        lines.append("")
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    tiers = result["tiers"]
    figure, axes = pyplot.subplots(1, len(tiers), figsize=(5 * len(tiers), 4), squeeze=False)
    for ax, t in zip(axes[0], tiers, strict=True):
        for name, row in t["paths"].items():
            ax.errorbar(
                row["latency_ms"]["p50"],
                row["recall_at_10"],
                xerr=[[0], [row["latency_ms"]["p99"] - row["latency_ms"]["p50"]]],
                fmt="o",
                label=name,
                capsize=3,
            )
        ax.set_xscale("log")
        ax.set_xlabel("latency ms (p50, bar to p99)")
        ax.set_ylabel(f"recall@{K}")
        ax.set_title(f"{t['chunks']:,} chunks")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


@contextlib.contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    """`name` set to `value` (or unset) meanwhile."""
    before = os.environ.pop(name, None)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)
        if before is not None:
            os.environ[name] = before


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    options = parser.parse_args()
    sizes = sorted(int(s) for s in options.sizes.split(","))
    print(f"corpus: {sizes[-1]} chunks…", flush=True)
    chunks = corpus.chunks(sizes[-1])
    texts = [c.text for c in chunks]
    vectors = corpus.embeddings(texts)
    work = Path(tempfile.mkdtemp(prefix="ragtune-bench-retrieval-"))
    servers = {name: local.isolated_settings(work / name) for name in ("ragtune", "stock")}
    for name, settings in servers.items():
        (settings.home / "logs").mkdir(parents=True, exist_ok=True)
        # the launcher keeps Milvus Lite's own search path when asked to: the "before"
        with _environment(milvuslite.STOCK_ENV, "1" if name == "stock" else None):
            local.start_milvus(settings)
    uris = {name: settings.effective_milvus_uri for name, settings in servers.items()}
    tiers = []
    try:
        for size in sizes:
            questions = corpus.questions(texts[:size], options.queries)
            query_vectors = corpus.embeddings(questions)
            found = tier(uris, chunks[:size], vectors[:size], questions, query_vectors, work)
            tiers.append(found)
            print(json.dumps(tiers[-1]["paths"]), flush=True)
    finally:
        for settings in servers.values():
            local.stop(settings)
    now = datetime.now(UTC)
    result = {
        "date": now.strftime("%Y-%m-%d"),
        "machine": machine(),
        "queries": options.queries,
        "retriever": RAGTUNE.format(ef=SEARCH_EF),
        "tiers": tiers,
    }
    stem = write_results("retrieval", now, result, markdown(result))
    chart(result, stem.with_suffix(".png"))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
