"""Local serving benchmark: retrieval at 10k chunks, end-to-end Query by stage, serving overhead.

Starts its own local stack (Milvus Lite server, Ray head, Serve app) on free loopback ports,
ingests ~10k chunks of real English text (the docstrings of Python's standard library) over
gRPC, then measures, side by side in one run:

* retrieval: the retriever's Milvus search (HNSW, the product path) against exact search in
  numpy (`argpartition`, the floor), p50/p99 latency and recall@10 of Milvus against exact;
* end-to-end `Query` over gRPC through Ray Serve, split by stage, and the serving overhead =
  client-side latency minus the sum of the stage times the reply reports.

Writes benchmarks/results/<date>-<host>-local.json and .md. Run: `make bench`.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
from measure import machine, percentiles, write_results

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import local
from ragtune_serving.client import RagClient
from ragtune_serving.config import PACKAGED_EMBEDDING
from ragtune_serving.models import resolve_model
from ragtune_serving.rag.kbnames import parse_kb_ref
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import MilvusKnowledgeStore

KB = "bench/stdlib"
TARGET_CHUNKS = 10_000
SEARCH_QUERIES = 300
E2E_QUERIES = 30
E2E_MAX_TOKENS = 24


def _send(client: RagClient, batch: list[pb.Document]) -> int:
    reply = client.ingest(pb.IngestRequest(knowledge_base=KB, documents=batch))
    return int(reply.chunks_written)


def ingest(client: RagClient) -> dict[str, Any]:
    documents = corpus.documents(limit_chars=6_000_000)
    started = time.perf_counter()
    chunks = 0
    batch: list[pb.Document] = []
    for name, text in documents:
        batch.append(pb.Document(id=name, content=text.encode(), source_uri=f"stdlib:{name}"))
        if len(batch) == 32:
            chunks += _send(client, batch)
            batch = []
        if chunks >= TARGET_CHUNKS:
            break
    if batch and chunks < TARGET_CHUNKS:
        chunks += _send(client, batch)
    seconds = time.perf_counter() - started
    info = client.get_knowledge_base(KB)
    return {
        "documents": info.documents,
        "chunks": info.chunks,
        "seconds": round(seconds, 1),
        "chunks_per_s": round(info.chunks / seconds, 1),
    }


def questions(store: MilvusKnowledgeStore, count: int) -> list[str]:
    """Questions made from stored chunks' first sentences: realistic, and answerable."""
    info = store.describe(parse_kb_ref(KB))
    assert info is not None
    rows = store._client.query(
        info.collection, filter="chunk == 1", output_fields=["text"], limit=count
    )
    out = []
    for row in rows:
        sentence = row["text"].split(".")[0].strip().replace("\n", " ")
        out.append(f"What does the documentation say about: {sentence[:160]}?")
    return out


def retrieval(settings: Settings, queries: list[str]) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model(PACKAGED_EMBEDDING).name_or_path, device="cpu")
    vectors = model.encode(queries, normalize_embeddings=True)
    store = MilvusKnowledgeStore(settings.effective_milvus_uri)
    info = store.describe(parse_kb_ref(KB))
    assert info is not None

    # exact floor: every stored vector in numpy
    rows: list[dict[str, Any]] = []
    iterator = store._client.query_iterator(
        info.collection, batch_size=1000, filter="", output_fields=["id", "dense"]
    )
    while page := iterator.next():
        rows += page
    iterator.close()
    ids = [r["id"] for r in rows]
    matrix = np.asarray([r["dense"] for r in rows], dtype=np.float32)

    milvus_ms, exact_ms, recalls = [], [], []
    for question, vector in zip(queries, vectors, strict=True):
        t = time.perf_counter()
        hits = store.search(info, vector.tolist(), question, top_k=10)
        milvus_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        scores = matrix @ vector
        top = np.argpartition(-scores, 10)[:10]
        exact = {ids[i] for i in top[np.argsort(-scores[top])]}
        exact_ms.append((time.perf_counter() - t) * 1000)
        recalls.append(len(exact & {h.chunk_id for h in hits}) / 10)
    return {
        "chunks": len(ids),
        "milvus_hnsw_ms": percentiles(milvus_ms),
        "numpy_exact_ms": percentiles(exact_ms),
        "milvus_recall_at_10": round(statistics.fmean(recalls), 4),
    }


def end_to_end(client: RagClient, queries: list[str]) -> dict[str, Any]:
    stages: dict[str, list[float]] = {
        k: [] for k in ("embed", "retrieve", "generate", "ttft", "total", "client", "overhead")
    }
    for question in queries:
        request = pb.QueryRequest(
            knowledge_base=KB, question=question, max_tokens=E2E_MAX_TOKENS, score_threshold=-1
        )
        t = time.perf_counter()
        reply = client.query(request)
        client_ms = (time.perf_counter() - t) * 1000
        timing = reply.timing
        stage_sum = timing.embed_ms + timing.retrieve_ms + timing.generate_ms
        stages["embed"].append(timing.embed_ms)
        stages["retrieve"].append(timing.retrieve_ms)
        stages["generate"].append(timing.generate_ms)
        stages["ttft"].append(timing.time_to_first_token_ms)
        stages["total"].append(timing.total_ms)
        stages["client"].append(client_ms)
        stages["overhead"].append(client_ms - stage_sum)
    summary = {k: percentiles(v) for k, v in stages.items()}
    overhead = summary["overhead"]["p50"]
    summary["overhead_share_of_e2e_p50"] = round(overhead / summary["client"]["p50"], 4)
    return summary


def markdown(result: dict[str, Any]) -> str:
    m, r, e = result["machine"], result["retrieval"], result["end_to_end"]
    lines = [
        f"# Local serving benchmark — {result['date']}",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}, no GPU, "
        f"Python {m['python']}.",
        "",
        f"Ingest: {result['ingest']['chunks']} chunks from {result['ingest']['documents']} "
        f"documents in {result['ingest']['seconds']} s ({result['ingest']['chunks_per_s']} "
        "chunks/s, over gRPC, embedding included).",
        "",
        f"## Retrieval at {r['chunks']} chunks (top-10, {SEARCH_QUERIES} queries)",
        "",
        "| path | p50 ms | p99 ms | recall@10 vs exact |",
        "|---|---|---|---|",
        f"| ragtune retriever, Milvus Lite HNSW | {r['milvus_hnsw_ms']['p50']} | "
        f"{r['milvus_hnsw_ms']['p99']} | {r['milvus_recall_at_10']} |",
        f"| exact numpy (argpartition), the floor | {r['numpy_exact_ms']['p50']} | "
        f"{r['numpy_exact_ms']['p99']} | 1.0 |",
        "",
        f"## End-to-end Query over gRPC through Ray Serve ({E2E_QUERIES} queries, "
        f"max {E2E_MAX_TOKENS} tokens)",
        "",
        "| stage | p50 ms | p99 ms |",
        "|---|---|---|",
    ]
    for stage in ("embed", "retrieve", "ttft", "generate", "total", "client", "overhead"):
        lines.append(f"| {stage} | {e[stage]['p50']} | {e[stage]['p99']} |")
    lines += [
        "",
        "`client` is the latency the gRPC client measured; `overhead` = client − (embed + "
        "retrieve + generate): proxy, gateway, Ray hops and serialisation. "
        f"Overhead share of end-to-end p50: {e['overhead_share_of_e2e_p50'] * 100:.1f} %.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    settings = local.isolated_settings(Path(tempfile.mkdtemp(prefix="ragtune-bench-")))
    local.start(settings)
    try:
        with RagClient(settings.address) as client:
            print("ingesting…", flush=True)
            ingested = ingest(client)
            print(ingested, flush=True)
            store = MilvusKnowledgeStore(settings.effective_milvus_uri)
            queries = questions(store, SEARCH_QUERIES)
            print("retrieval…", flush=True)
            retrieved = retrieval(settings, queries)
            print(retrieved, flush=True)
            print("end to end…", flush=True)
            client.query(pb.QueryRequest(knowledge_base=KB, question=queries[0], max_tokens=4))
            e2e = end_to_end(client, queries[:E2E_QUERIES])
            print(json.dumps(e2e), flush=True)
    finally:
        local.stop(settings)
    now = datetime.now(UTC)
    result = {
        "date": now.strftime("%Y-%m-%d"),
        "machine": machine(),
        "ingest": ingested,
        "retrieval": retrieved,
        "end_to_end": e2e,
    }
    write_results("local", now, result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
