"""Namespace isolation: a request for one namespace's knowledge base never reads another's chunks.

Knowledge bases with look-alike names (`team-a/kb` beside `team/a-kb` and `team/a.kb`, and
the same name in another namespace) each hold documents that say which one
they are. 1,000 random query vectors per knowledge base go through the retriever's own store
path, and questions go through gRPC: every chunk returned must be the asked knowledge base's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import RagClient
from ragtune_serving.rag.kbnames import parse_kb_ref
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import MilvusKnowledgeStore, connect

pytestmark = pytest.mark.integration

# "team/a-kb" and "team/a.kb" share their readable collection alias; its hash keeps them apart
KBS = ["team-a/kb", "team/a-kb", "team/a.kb", "other/kb"]
TOPICS = ["harbour cranes", "cold storage", "customs forms", "night shifts", "fuel prices"]
QUERIES_PER_KB = 1000


def _documents(kb: str) -> list[pb.Document]:
    tag = kb.replace("/", " slash ")
    return [
        pb.Document(
            id=f"{kb.replace('/', '_')}-{number}.md",
            content=(
                f"This note about {topic} belongs to the knowledge base {tag}. "
                f"It records how the {topic} team works, which forms it files and who "
                f"signs them off at the end of each week."
            ).encode(),
            metadata={"owner": kb},
        )
        for number, topic in enumerate(TOPICS)
    ]


@pytest.fixture(scope="module")
def isolated_kbs(client: RagClient) -> Iterator[list[str]]:
    for kb in KBS:
        reply = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=_documents(kb)))
        assert all(r.outcome == pb.DOCUMENT_OUTCOME_CREATED for r in reply.results), reply
    yield KBS
    for kb in KBS:
        client.delete_knowledge_base(kb)


def _dim(stack: Settings, collection: str) -> int:
    milvus = connect(stack.effective_milvus_uri)
    try:
        rows = milvus.query(collection, filter="chunk == 0", output_fields=["dense"], limit=1)
    finally:
        milvus.close()
    return len(rows[0]["dense"])


def test_random_searches_never_cross_namespaces(stack: Settings, isolated_kbs: list[str]) -> None:
    store = MilvusKnowledgeStore(stack.effective_milvus_uri)
    rng = np.random.default_rng(11)
    for kb in isolated_kbs:
        info = store.describe(parse_kb_ref(kb))
        assert info is not None
        own = {d.id for d in _documents(kb)}
        vectors = rng.standard_normal((QUERIES_PER_KB, _dim(stack, info.collection)))
        vectors = vectors.astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        seen: set[str] = set()
        for vector in vectors:
            hits = store.search(info, vector.tolist(), "", top_k=int(rng.integers(1, 8)))
            assert hits
            seen |= {hit.document_id for hit in hits}
        assert seen <= own, f"{kb} returned chunks of {sorted(seen - own)}"
        assert seen == own  # every document was reachable, so the check could have failed


def test_questions_cite_only_the_asked_knowledge_base(
    client: RagClient, isolated_kbs: list[str]
) -> None:
    picker = random.Random(5)
    for _ in range(12):
        kb = picker.choice(isolated_kbs)
        topic = picker.choice(TOPICS)
        reply = client.query(
            pb.QueryRequest(
                knowledge_base=kb,
                question=f"Who signs off the {topic} forms?",
                top_k=5,
                max_tokens=1,
                score_threshold=-1,
            )
        )
        owners = {citation.metadata["owner"] for citation in reply.citations}
        assert owners == {kb}, f"asked {kb}, cited {owners}"
