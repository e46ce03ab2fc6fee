"""Re-indexing a knowledge base behind its alias, and dropping one, on the real stack."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
from pymilvus import MilvusClient

from loadgen import Load
from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.config import PACKAGED_EMBEDDING
from ragtune_serving.rag.kbnames import collection_alias, parse_kb_ref
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import connect

pytestmark = pytest.mark.integration

QUESTION = "Who is the chief executive officer of Kestrel Harbor Logistics?"
SOURCE = "leadership-team.md"


def _settings(chunk_size: int, chunk_overlap: int) -> pb.KnowledgeBaseSettings:
    return pb.KnowledgeBaseSettings(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, embedding_model=PACKAGED_EMBEDDING
    )


@pytest.fixture
def milvus(stack: Settings) -> Iterator[MilvusClient]:
    client = connect(stack.effective_milvus_uri)
    yield client
    client.close()


def _versions(milvus: MilvusClient, kb: str) -> list[str]:
    """The collection versions of `kb` in Milvus."""
    alias = collection_alias(parse_kb_ref(kb))
    return sorted(n for n in milvus.list_collections() if n.startswith(alias + "_v"))


def _alias_target(milvus: MilvusClient, kb: str) -> str:
    target: str = milvus.describe_alias(collection_alias(parse_kb_ref(kb)))["collection_name"]
    return target


def _answers(client: RagClient, kb: str) -> None:
    """An answer comes, grounded in the document that holds it."""
    reply = client.query(pb.QueryRequest(knowledge_base=kb, question=QUESTION))
    assert reply.grounded and reply.answer.strip()
    assert reply.citations[0].document_id == SOURCE


def test_reindex_swaps_in_a_new_version_with_the_new_settings(
    client: RagClient, milvus: MilvusClient, corpus: list[pb.Document]
) -> None:
    kb = "itest/reindex"
    documents = corpus
    first = client.ingest(
        pb.IngestRequest(
            knowledge_base=kb, documents=documents, settings=_settings(64, 16), reindex=True
        )
    )
    assert first.created_knowledge_base and not first.reindexed  # new: a plain ingest
    before = client.get_knowledge_base(kb)
    assert _versions(milvus, kb) == [f"{before.collection}_v1"]
    _answers(client, kb)

    same = client.ingest(
        pb.IngestRequest(
            knowledge_base=kb, documents=documents, settings=_settings(64, 16), reindex=True
        )
    )
    assert not same.reindexed and same.chunks_written == 0  # equal settings: a plain ingest

    seen: list[pb.KnowledgeBase] = []
    replies: list[pb.IngestResponse] = []
    request = pb.IngestRequest(
        knowledge_base=kb, documents=documents[1:], settings=_settings(32, 8), reindex=True
    )
    worker = threading.Thread(target=lambda: replies.append(client.ingest(request)))
    worker.start()
    while worker.is_alive():  # queries during the build see the old index or the new one
        seen.append(client.get_knowledge_base(kb))
    worker.join()
    (reply,) = replies

    after = client.get_knowledge_base(kb)
    assert reply.reindexed and not reply.created_knowledge_base
    outcomes = {r.id: pb.DocumentOutcome.Name(r.outcome) for r in reply.results}
    assert outcomes[documents[0].id] == "DOCUMENT_OUTCOME_DELETED"  # left out: not carried over
    assert {outcomes[d.id] for d in documents[1:]} == {"DOCUMENT_OUTCOME_UPDATED"}
    assert reply.chunks_deleted == before.chunks
    assert reply.chunks_written == after.chunks > before.chunks
    assert (after.settings.chunk_size, after.settings.chunk_overlap) == (32, 8)
    assert after.documents == before.documents - 1
    assert after.collection == before.collection  # the alias stays, its target moves
    assert _versions(milvus, kb) == [f"{after.collection}_v2"]  # the old version is gone
    assert _alias_target(milvus, kb) == f"{after.collection}_v2"
    for state in seen:
        assert (state.documents, state.chunks) in {
            (before.documents, before.chunks),
            (after.documents, after.chunks),
        }
    _answers(client, kb)


def test_without_reindex_other_settings_are_refused_naming_reindex(client: RagClient) -> None:
    kb = "itest/reindex-refused"
    documents = [pb.Document(id="a.txt", content=b"The ferry leaves at noon.")]
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    request = pb.IngestRequest(knowledge_base=kb, documents=documents, settings=_settings(32, 8))
    with pytest.raises(ClientError) as raised:
        client.ingest(request)
    assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "reindex" in raised.value.message

    request.reindex = True
    request.keep.append("b.txt")  # a re-index carries the whole corpus: nothing to keep
    with pytest.raises(ClientError) as raised:
        client.ingest(request)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "keep" in raised.value.message
    assert client.get_knowledge_base(kb).settings.chunk_size == 64


def _delete(stack: Settings, kb: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.http_port}/v1/knowledgebases/{kb}", method="DELETE"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_drop_removes_every_version_and_is_idempotent(
    client: RagClient, stack: Settings, milvus: MilvusClient, corpus: list[pb.Document]
) -> None:
    kb = "itest/dropped"
    documents = corpus
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    client.ingest(
        pb.IngestRequest(
            knowledge_base=kb, documents=documents, settings=_settings(48, 8), reindex=True
        )
    )
    _answers(client, kb)  # the gateway now holds the knowledge base in its describe cache
    assert len(_versions(milvus, kb)) == 1

    assert client.delete_knowledge_base(kb).existed
    assert _versions(milvus, kb) == []
    assert not milvus.has_collection(collection_alias(parse_kb_ref(kb)))
    with pytest.raises(ClientError) as raised:  # within the cache's lifetime: not served
        client.query(pb.QueryRequest(knowledge_base=kb, question=QUESTION))
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(ClientError) as raised:
        client.get_knowledge_base(kb)
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert not client.delete_knowledge_base(kb).existed  # a retried drop is no error

    recreated = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    assert recreated.created_knowledge_base
    assert client.get_knowledge_base(kb).settings.chunk_size == 64  # the defaults again
    _answers(client, kb)

    assert _delete(stack, kb) == (200, {"existed": True})
    assert _delete(stack, kb) == (200, {})
    status, body = _delete(stack, "Bad/Name")
    assert status == 400 and body["code"] == "INVALID_ARGUMENT"


def test_queries_under_load_never_fail_while_the_alias_swaps(
    client: RagClient, milvus: MilvusClient, corpus: list[pb.Document]
) -> None:
    """Four clients ask without pause while the knowledge base is re-indexed (a new version
    built beside the old one, then the alias swapped): every query answers, from one version
    or the other."""
    kb = "itest/swap-under-load"
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=corpus, settings=_settings(64, 16)))
    before = _alias_target(milvus, kb)
    question = pb.QueryRequest(knowledge_base=kb, question=QUESTION, max_tokens=1)
    with Load(client.address, question, clients=4) as load:
        while len(load.outcomes) < 4:
            time.sleep(0.1)
        began = time.monotonic()
        reply = client.ingest(
            pb.IngestRequest(
                knowledge_base=kb, documents=corpus, settings=_settings(32, 8), reindex=True
            )
        )
        ended, swapped = time.monotonic(), len(load.outcomes)
        while len(load.outcomes) < swapped + 4:
            time.sleep(0.1)
    assert reply.reindexed and _alias_target(milvus, kb) != before
    during = [o for o in load.outcomes if o.started < ended and o.started + o.seconds > began]
    assert len(during) >= 4, "no query was in flight during the re-index"
    assert load.failures() == []
    cited = [outcome.documents for outcome in load.outcomes]
    assert all(SOURCE in documents for documents in cited), cited
    client.delete_knowledge_base(kb)
