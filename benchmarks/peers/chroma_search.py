"""Chroma, as a user of it would run it embedded: build a collection from given vectors, then
time top-k queries one by one. Runs in the peers' virtualenv (no ragtune import).

    python chroma_search.py IN.npz OUT.json [--k 10] [--ef 64]

IN.npz holds `vectors` (N×D float32, normalised), `queries` (Q×D), `ids` and `texts` (N
strings: stored and returned with each hit, as ragtune's store returns each chunk's text);
OUT.json gets the build time, the per-query latencies (ms) and the ids each query returned.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import chromadb
import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", type=int, default=64)
    options = parser.parse_args()
    data = np.load(options.source, allow_pickle=False)
    vectors, queries = data["vectors"], data["queries"]
    ids, texts = [str(i) for i in data["ids"]], [str(t) for t in data["texts"]]
    with tempfile.TemporaryDirectory(prefix="chroma-bench-") as path:
        client = chromadb.PersistentClient(path=path)
        collection = client.create_collection(
            "bench",
            configuration={
                "hnsw": {
                    "space": "cosine",
                    "max_neighbors": 16,
                    "ef_construction": 200,
                    "ef_search": options.ef,
                }
            },
        )
        batch = client.get_max_batch_size()
        started = time.perf_counter()
        for start in range(0, len(ids), batch):
            end = start + batch
            collection.add(
                ids=ids[start:end], embeddings=vectors[start:end], documents=texts[start:end]
            )
        built_s = time.perf_counter() - started
        collection.query(query_embeddings=queries[:1], n_results=options.k)  # warm up
        latencies, returned = [], []
        for query in queries:
            t = time.perf_counter()
            result = collection.query(query_embeddings=[query], n_results=options.k)
            latencies.append((time.perf_counter() - t) * 1000)
            returned.append(result["ids"][0])
    report = {
        "chromadb": chromadb.__version__,
        "build_s": built_s,
        "latencies_ms": latencies,
        "ids": returned,
    }
    with open(options.out, "w") as out:
        json.dump(report, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
