"""Ingestion over gRPC into Milvus Lite: dedup by content hash, updates, deletes, refusals."""

from __future__ import annotations

import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import RagClient
from ragtune_serving.rag.kbnames import collection_alias, parse_kb_ref
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import connect

pytestmark = pytest.mark.integration

FILLER = " ".join(
    f"Paragraph {n} of the archive notes describes shelving, lighting and humidity checks."
    for n in range(12)
)
QUESTION = "What is the vault code of the Orbis archive?"


def _stored_chunks(stack: Settings, kb: str, document_id: str) -> list[dict[str, object]]:
    milvus = connect(stack.effective_milvus_uri)
    try:
        rows: list[dict[str, object]] = milvus.query(
            collection_alias(parse_kb_ref(kb)),
            filter=f'document_id == "{document_id}"',
            output_fields=["id", "chunk", "content_hash", "text"],
        )
        return rows
    finally:
        milvus.close()


def _outcomes(reply: pb.IngestResponse) -> dict[str, str]:
    return {r.id: pb.DocumentOutcome.Name(r.outcome) for r in reply.results}


def test_update_replaces_every_old_chunk_and_changes_the_answer(
    client: RagClient, stack: Settings
) -> None:
    kb = "itest/updates"
    old = f"The vault code of the Orbis archive is TANGERINE. {FILLER}".encode()
    reply = client.ingest(
        pb.IngestRequest(knowledge_base=kb, documents=[pb.Document(id="vault.md", content=old)])
    )
    assert _outcomes(reply) == {"vault.md": "DOCUMENT_OUTCOME_CREATED"}
    assert reply.chunks_written > 1
    before = client.query(pb.QueryRequest(knowledge_base=kb, question=QUESTION))
    assert "TANGERINE" in before.answer.upper()

    new = b"The vault code of the Orbis archive is PERIWINKLE."
    reply = client.ingest(
        pb.IngestRequest(knowledge_base=kb, documents=[pb.Document(id="vault.md", content=new)])
    )
    assert _outcomes(reply) == {"vault.md": "DOCUMENT_OUTCOME_UPDATED"}
    assert reply.chunks_written == 1
    assert reply.chunks_deleted >= 1

    rows = _stored_chunks(stack, kb, "vault.md")
    assert len(rows) == 1 and rows[0]["chunk"] == 0
    assert "TANGERINE" not in str(rows[0]["text"])
    after = client.query(pb.QueryRequest(knowledge_base=kb, question=QUESTION))
    assert "PERIWINKLE" in after.answer.upper() and "TANGERINE" not in after.answer.upper()
    assert client.get_knowledge_base(kb).chunks == 1


def test_unchanged_documents_write_nothing(client: RagClient, stack: Settings) -> None:
    kb = "itest/dedup"
    documents = [
        pb.Document(id=f"d{i}.txt", content=f"Fact {i}: {FILLER}".encode()) for i in range(3)
    ]
    first = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    hashes = {r["id"]: r["content_hash"] for r in _stored_chunks(stack, kb, "d0.txt")}
    second = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    assert first.chunks_written > 0
    assert second.chunks_written == 0 and second.chunks_deleted == 0
    assert set(_outcomes(second).values()) == {"DOCUMENT_OUTCOME_UNCHANGED"}
    assert {r["id"]: r["content_hash"] for r in _stored_chunks(stack, kb, "d0.txt")} == hashes

    # a metadata change is a change
    documents[0].metadata["owner"] = "ops"
    third = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    assert _outcomes(third)["d0.txt"] == "DOCUMENT_OUTCOME_UPDATED"
    assert _outcomes(third)["d1.txt"] == "DOCUMENT_OUTCOME_UNCHANGED"


def test_delete_leaves_no_chunk_behind(client: RagClient, stack: Settings) -> None:
    kb = "itest/deletes"
    documents = [
        pb.Document(id="keep.txt", content=b"The lighthouse keeper is named Oswin Tarrow."),
        pb.Document(id="drop.txt", content=f"The ferry captain is Lenna Voss. {FILLER}".encode()),
    ]
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    assert client.get_knowledge_base(kb).documents == 2

    reply = client.delete_documents(kb, ["drop.txt", "never-there.txt"])
    assert list(reply.deleted) == ["drop.txt"] and list(reply.not_found) == ["never-there.txt"]
    assert reply.chunks_deleted > 1
    assert _stored_chunks(stack, kb, "drop.txt") == []
    info = client.get_knowledge_base(kb)
    assert (info.documents, info.chunks) == (1, len(_stored_chunks(stack, kb, "keep.txt")))
    answer = client.query(
        pb.QueryRequest(knowledge_base=kb, question="Who is the ferry captain?", score_threshold=-1)
    )
    assert {c.document_id for c in answer.citations} == {"keep.txt"}


def test_prune_deletes_documents_absent_from_the_sync(client: RagClient, stack: Settings) -> None:
    kb = "itest/prune"
    documents = [
        pb.Document(id=f"p{i}.txt", content=f"Note number {i}.".encode()) for i in range(4)
    ]
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    # a sync in two requests: the last one prunes, naming the first request's ids in `keep`
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents[:1]))
    reply = client.ingest(
        pb.IngestRequest(knowledge_base=kb, documents=documents[1:2], prune=True, keep=["p0.txt"])
    )
    assert _outcomes(reply) == {
        "p1.txt": "DOCUMENT_OUTCOME_UNCHANGED",
        "p2.txt": "DOCUMENT_OUTCOME_DELETED",
        "p3.txt": "DOCUMENT_OUTCOME_DELETED",
    }
    assert client.get_knowledge_base(kb).documents == 2
    assert _stored_chunks(stack, kb, "p3.txt") == []


def test_bad_documents_are_refused_and_the_rest_ingested(
    client: RagClient, stack: Settings
) -> None:
    kb = "itest/refusals"
    good = pb.Document(id="good.txt", content=b"The bakery on Quay Street sells rye loaves.")
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=[good]))
    stored = _stored_chunks(stack, kb, "good.txt")

    reply = client.ingest(
        pb.IngestRequest(
            knowledge_base=kb,
            documents=[
                pb.Document(id="empty.txt", content=b"   \n"),
                pb.Document(id="binary.bin", content=b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR"),
                pb.Document(id="latin1.txt", content="caf\xe9".encode("latin-1")),
                pb.Document(id="huge.txt", content=b"a " * (1024 * 1024 + 1)),
                # an existing document sent again as garbage must not lose what is stored
                pb.Document(id="good.txt", content=b"\x00\x01\x02"),
                pb.Document(id="new.txt", content=b"The harbour ferry leaves at noon."),
            ],
        )
    )
    reasons = {r.id: r.reason for r in reply.results if r.outcome == pb.DOCUMENT_OUTCOME_REFUSED}
    assert set(reasons) == {"empty.txt", "binary.bin", "latin1.txt", "huge.txt", "good.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.bin"] and "binary" in reasons["good.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "limit" in reasons["huge.txt"]
    assert _outcomes(reply)["new.txt"] == "DOCUMENT_OUTCOME_CREATED"
    assert _stored_chunks(stack, kb, "good.txt") == stored
    assert client.get_knowledge_base(kb).documents == 2
