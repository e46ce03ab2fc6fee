"""The gRPC codec fills defaults, names the field of each bad request, and maps records."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.config import (
    AppArgs,
    DeclaredAdapters,
    GeneratorArgs,
    KnowledgeBaseArgs,
    KnowledgeBaseDefaults,
    Limits,
)
from ragtune_serving.errors import InvalidArgument
from ragtune_serving.grpcapi import codec
from ragtune_serving.rag.records import (
    AdapterReport,
    CitationsEvent,
    DocumentResult,
    FinalEvent,
    Hit,
    IndexSettings,
    IngestReport,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    Timing,
    TokenEvent,
)

KB = "default/handbook"

ARGS = AppArgs(
    generator=GeneratorArgs(max_tokens=77, temperature=0.5),
    knowledge_base_defaults=KnowledgeBaseDefaults(top_k=4, score_threshold=0.3),
    limits=Limits(max_question_chars=40, max_top_k=10, max_tokens=200, max_documents_per_request=3),
)


def _query(**fields: Any) -> pb.QueryRequest:
    fields.setdefault("knowledge_base", KB)
    fields.setdefault("question", "What is the leave policy?")
    return pb.QueryRequest(**fields)


def _hit(number: int, text: str = "Some passage text.") -> Hit:
    return Hit(
        chunk_id=f"doc-{number}#0",
        document_id=f"doc-{number}",
        chunk=0,
        text=text,
        score=0.5 + number / 10,
        similarity=0.4 + number / 10,
        source_uri=f"file:///doc-{number}.md",
        metadata={"lang": "en"},
    )


def _invalid_field(call: Any, *args: Any) -> str | None:
    with pytest.raises(InvalidArgument) as caught:
        call(*args)
    return caught.value.field


# query_params: defaults and set fields


def test_unset_optional_fields_take_the_application_defaults() -> None:
    params = codec.query_params(_query(), ARGS)
    assert params.ref == KnowledgeBaseRef("default", "handbook")
    assert params.top_k == 4
    assert params.max_tokens == 77
    assert params.temperature == 0.5
    assert params.score_threshold == pytest.approx(0.3)
    assert params.filters == {}
    assert params.mode == "rag"


def test_set_optional_fields_override_the_defaults() -> None:
    request = _query(
        top_k=7,
        max_tokens=150,
        temperature=1.25,
        score_threshold=-0.5,
        metadata_filter={"lang": "de"},
    )
    params = codec.query_params(request, ARGS)
    assert params.top_k == 7
    assert params.max_tokens == 150
    assert params.temperature == pytest.approx(1.25)
    assert params.score_threshold == pytest.approx(-0.5)
    assert params.filters == {"lang": "de"}


def test_explicit_zero_temperature_and_threshold_are_honoured() -> None:
    params = codec.query_params(_query(temperature=0.0, score_threshold=0.0), ARGS)
    assert params.temperature == 0.0
    assert params.score_threshold == 0.0


def test_question_is_stripped() -> None:
    assert codec.query_params(_query(question="  why?\n"), ARGS).question == "why?"


def test_question_at_the_limit_is_accepted() -> None:
    question = "q" * ARGS.limits.max_question_chars
    assert codec.query_params(_query(question=question), ARGS).question == question


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(pb.MODE_UNSPECIFIED, "rag"), (pb.MODE_RAG, "rag"), (pb.MODE_BASE, "base")],
)
def test_modes(mode: int, expected: str) -> None:
    params = codec.query_params(_query(mode=mode), ARGS)
    assert (params.mode, params.adapter, params.rewrite_adapter, params.rerank_adapter) == (
        expected,
        None,
        None,
        None,
    )


DECLARING = ARGS.model_copy(
    update={
        "knowledge_bases": (
            KnowledgeBaseArgs(namespace="default", name="handbook", rerank_candidates=8),
        )
    }
)
DECLARED = DeclaredAdapters(adapter="tone", query_rewrite_adapter="rw", rerank_adapter="rr")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # nothing asked: every declared adapter is used
        ({}, ("rag+adapter", "tone", "rw", "rr", 8)),
        ({"mode": pb.MODE_RAG}, ("rag", None, "rw", "rr", 8)),
        ({"mode": pb.MODE_BASE}, ("base", None, None, None, 0)),
        ({"mode": pb.MODE_ADAPTER}, ("adapter", "tone", None, None, 0)),
        ({"adapter": "legal"}, ("rag+adapter", "legal", "rw", "rr", 8)),
        ({"rewrite": False, "rerank": False}, ("rag+adapter", "tone", None, None, 0)),
        (
            {"rewrite_adapter": "rw2", "rerank_candidates": 5},
            ("rag+adapter", "tone", "rw2", "rr", 5),
        ),
    ],
)
def test_declared_adapters_fill_what_the_request_leaves_out(
    fields: dict[str, Any], expected: tuple[object, ...]
) -> None:
    p = codec.query_params(_query(**fields), DECLARING, DECLARED)
    got = (p.mode, p.adapter, p.rewrite_adapter, p.rerank_adapter, p.rerank_candidates)
    assert got == expected


def test_a_request_names_adapters_the_knowledge_base_does_not_declare() -> None:
    fields = {"mode": pb.MODE_RAG_ADAPTER, "adapter": "a", "rewrite_adapter": "b", "rerank": True}
    with pytest.raises(InvalidArgument, match="rerank_adapter"):
        codec.query_params(_query(**fields), ARGS)
    fields["rerank_adapter"] = "c"
    p = codec.query_params(_query(**fields), ARGS)
    assert (p.adapter, p.rewrite_adapter, p.rerank_adapter) == ("a", "b", "c")
    assert p.rerank_candidates == ARGS.knowledge_base_defaults.rerank_candidates


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"mode": pb.MODE_ADAPTER}, "adapter"),  # no adapter anywhere
        ({"mode": pb.MODE_RAG_ADAPTER}, "adapter"),
        ({"mode": pb.MODE_RAG, "adapter": "tone"}, "adapter"),  # rag uses no adapter
        ({"mode": pb.MODE_BASE, "adapter": "tone"}, "adapter"),
        ({"rewrite": True}, "rewrite_adapter"),  # switched on, none named
        ({"rerank": True}, "rerank_adapter"),
        ({"rewrite": False, "rewrite_adapter": "rw"}, "rewrite_adapter"),
        ({"mode": pb.MODE_BASE, "rerank_adapter": "rr"}, "rerank_adapter"),  # base: no retrieval
        ({"mode": pb.MODE_BASE, "rewrite": True}, "rewrite"),
        ({"rerank_adapter": "rr", "rerank_candidates": 2}, "rerank_candidates"),  # < top_k
        ({"rerank_adapter": "rr", "rerank_candidates": 201}, "rerank_candidates"),
    ],
)
def test_conflicting_mode_and_adapter_fields_are_refused(
    fields: dict[str, Any], field: str
) -> None:
    assert _invalid_field(codec.query_params, _query(**fields), ARGS) == field


# query_params: every validation error names its field


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question_is_refused(question: str) -> None:
    assert _invalid_field(codec.query_params, _query(question=question), ARGS) == "question"


def test_question_over_the_limit_is_refused() -> None:
    question = "q" * (ARGS.limits.max_question_chars + 1)
    assert _invalid_field(codec.query_params, _query(question=question), ARGS) == "question"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": 11}, "top_k"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 201}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"score_threshold": -1.5}, "score_threshold"),
        ({"score_threshold": 1.01}, "score_threshold"),
        ({"mode": 99}, "mode"),
    ],
)
def test_out_of_range_fields_are_refused(fields: dict[str, Any], field: str) -> None:
    assert _invalid_field(codec.query_params, _query(**fields), ARGS) == field


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("top_k", 1),
        ("top_k", 10),
        ("max_tokens", 1),
        ("max_tokens", 200),
        ("temperature", 2.0),
        ("score_threshold", -1.0),
        ("score_threshold", 1.0),
    ],
)
def test_range_bounds_are_inclusive(name: str, value: float) -> None:
    params = codec.query_params(_query(**{name: value}), ARGS)
    assert getattr(params, name) == value


@pytest.mark.parametrize("knowledge_base", ["demo", "", "a/b/c", "Default/handbook", "ns/"])
def test_bad_knowledge_base_is_refused(knowledge_base: str) -> None:
    request = _query(knowledge_base=knowledge_base)
    assert _invalid_field(codec.query_params, request, ARGS) == "knowledge_base"


def test_bad_metadata_filter_keys_are_left_to_the_pipeline() -> None:
    # The codec copies filters as given; the filter builder validates keys later.
    params = codec.query_params(_query(metadata_filter={"bad key": "v"}), ARGS)
    assert params.filters == {"bad key": "v"}


# source_documents and index_settings


def test_source_documents_copies_every_field() -> None:
    request = pb.IngestRequest(
        knowledge_base=KB,
        documents=[
            pb.Document(id="a", content=b"alpha", source_uri="s3://a", metadata={"k": "v"}),
            pb.Document(id="b", content="βeta".encode()),
        ],
    )
    documents = codec.source_documents(request, ARGS)
    assert [(d.id, d.content, d.source_uri, d.metadata) for d in documents] == [
        ("a", b"alpha", "s3://a", {"k": "v"}),
        ("b", "βeta".encode(), "", {}),
    ]


def test_empty_ingest_is_refused() -> None:
    request = pb.IngestRequest(knowledge_base=KB)
    assert _invalid_field(codec.source_documents, request, ARGS) == "documents"


def test_empty_ingest_with_prune_is_allowed() -> None:
    request = pb.IngestRequest(knowledge_base=KB, prune=True)
    assert codec.source_documents(request, ARGS) == []


def test_documents_over_the_limit_are_refused() -> None:
    limit = ARGS.limits.max_documents_per_request
    documents = [pb.Document(id=str(i), content=b"x") for i in range(limit + 1)]
    request = pb.IngestRequest(knowledge_base=KB, documents=documents)
    assert _invalid_field(codec.source_documents, request, ARGS) == "documents"
    request = pb.IngestRequest(knowledge_base=KB, documents=documents[:limit])
    assert len(codec.source_documents(request, ARGS)) == limit


def test_index_settings_none_when_unset() -> None:
    assert codec.index_settings(pb.IngestRequest(knowledge_base=KB)) is None


def test_index_settings_copied_when_set() -> None:
    settings = pb.KnowledgeBaseSettings(
        chunk_size=96, chunk_overlap=8, hybrid=True, embedding_model="pkg:m/model"
    )
    request = pb.IngestRequest(knowledge_base=KB, settings=settings)
    assert codec.index_settings(request) == IndexSettings(
        chunk_size=96, chunk_overlap=8, hybrid=True, embedding_model="pkg:m/model"
    )


@pytest.mark.parametrize(
    ("size", "overlap", "model", "field"),
    [
        (15, 0, "m", "settings.chunk_size"),
        (513, 0, "m", "settings.chunk_size"),
        (0, 0, "m", "settings.chunk_size"),
        (64, 64, "m", "settings.chunk_overlap"),
        (64, 100, "m", "settings.chunk_overlap"),
        (64, 16, "", "settings.embedding_model"),
    ],
)
def test_bad_index_settings_are_refused(size: int, overlap: int, model: str, field: str) -> None:
    settings = pb.KnowledgeBaseSettings(
        chunk_size=size, chunk_overlap=overlap, embedding_model=model
    )
    request = pb.IngestRequest(knowledge_base=KB, settings=settings)
    assert _invalid_field(codec.index_settings, request) == field


@pytest.mark.parametrize("size", [16, 512])
def test_chunk_size_bounds_are_inclusive(size: int) -> None:
    settings = pb.KnowledgeBaseSettings(chunk_size=size, chunk_overlap=0, embedding_model="m")
    result = codec.index_settings(pb.IngestRequest(knowledge_base=KB, settings=settings))
    assert result is not None
    assert result.chunk_size == size


# responses


def test_citations_are_numbered_from_one_and_marked_cited() -> None:
    hits = [_hit(1), _hit(2), _hit(3)]
    citations = codec.citation_protos(hits, cited=[1, 3])
    assert [c.index for c in citations] == [1, 2, 3]
    assert [c.cited for c in citations] == [True, False, True]
    first = citations[0]
    assert first.document_id == "doc-1"
    assert first.chunk_id == "doc-1#0"
    assert first.source_uri == "file:///doc-1.md"
    assert first.similarity == pytest.approx(hits[0].similarity)
    assert first.score == pytest.approx(hits[0].score)
    assert dict(first.metadata) == {"lang": "en"}


def test_citation_snippets_are_collapsed_and_shortened() -> None:
    text = "word  \n " * 200
    (citation,) = codec.citation_protos([_hit(1, text)])
    assert "\n" not in citation.snippet
    assert "  " not in citation.snippet
    assert len(citation.snippet) <= 240
    assert not citation.cited


def test_no_hits_give_no_citations() -> None:
    assert codec.citation_protos([], cited=[1]) == []


def test_ingest_response_maps_every_outcome() -> None:
    outcomes = {
        "created": pb.DOCUMENT_OUTCOME_CREATED,
        "updated": pb.DOCUMENT_OUTCOME_UPDATED,
        "unchanged": pb.DOCUMENT_OUTCOME_UNCHANGED,
        "refused": pb.DOCUMENT_OUTCOME_REFUSED,
        "deleted": pb.DOCUMENT_OUTCOME_DELETED,
    }
    report = IngestReport(
        results=[
            DocumentResult(id=name, outcome=name, reason=f"because {name}", chunks=i)
            for i, name in enumerate(outcomes)
        ],
        chunks_written=5,
        chunks_deleted=2,
        created_knowledge_base=True,
        embed_ms=1.5,
        total_ms=3.25,
    )
    response = codec.ingest_response(report)
    assert [(r.id, r.outcome, r.reason, r.chunks) for r in response.results] == [
        (name, outcome, f"because {name}", i) for i, (name, outcome) in enumerate(outcomes.items())
    ]
    assert response.chunks_written == 5
    assert response.chunks_deleted == 2
    assert response.created_knowledge_base
    assert not response.reindexed
    assert response.embed_ms == 1.5
    assert response.total_ms == 3.25


def test_ingest_response_says_when_it_reindexed() -> None:
    response = codec.ingest_response(IngestReport(reindexed=True, chunks_deleted=7))
    assert response.reindexed and not response.created_knowledge_base
    assert response.chunks_deleted == 7


def test_stream_message_for_citations() -> None:
    message = codec.stream_message(CitationsEvent(hits=[_hit(1), _hit(2)], grounded=True))
    assert message.WhichOneof("event") == "citations"
    assert message.citations.grounded
    assert [c.index for c in message.citations.citations] == [1, 2]
    assert not any(c.cited for c in message.citations.citations)


def test_stream_message_for_ungrounded_citations() -> None:
    message = codec.stream_message(CitationsEvent(hits=[], grounded=False))
    assert message.WhichOneof("event") == "citations"
    assert not message.citations.grounded
    assert len(message.citations.citations) == 0


def test_stream_message_for_a_token() -> None:
    message = codec.stream_message(TokenEvent("Hello"))
    assert message.WhichOneof("event") == "token"
    assert message.token == "Hello"


def test_stream_message_for_the_final_event() -> None:
    timing = Timing(embed_ms=1.0, retrieve_ms=2.0, generate_ms=3.0, total_ms=7.0)
    timing.time_to_first_token_ms = 0.5
    event = FinalEvent("It is 25 days [1].", timing, 120, 9, [1])
    message = codec.stream_message(event)
    assert message.WhichOneof("event") == "final"
    final = message.final
    assert final.answer == "It is 25 days [1]."
    assert list(final.cited) == [1]
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (120, 9)
    assert (final.timing.embed_ms, final.timing.retrieve_ms) == (1.0, 2.0)
    assert (final.timing.generate_ms, final.timing.total_ms) == (3.0, 7.0)
    assert final.timing.time_to_first_token_ms == 0.5


# watch_interval


def test_watch_interval_defaults_to_one_second() -> None:
    assert codec.watch_interval(pb.WatchLatencyRequest(knowledge_base=KB)) == 1.0


@pytest.mark.parametrize("seconds", [0.1, 2.5, 60.0])
def test_watch_interval_within_range(seconds: float) -> None:
    request = pb.WatchLatencyRequest(knowledge_base=KB, interval_seconds=seconds)
    assert codec.watch_interval(request) == pytest.approx(seconds)


@pytest.mark.parametrize("seconds", [0.05, 60.5, -1.0])
def test_watch_interval_out_of_range(seconds: float) -> None:
    request = pb.WatchLatencyRequest(knowledge_base=KB, interval_seconds=seconds)
    assert _invalid_field(codec.watch_interval, request) == "interval_seconds"


# knowledge_base_proto


def _info(last_ingested: float) -> KnowledgeBaseInfo:
    return KnowledgeBaseInfo(
        ref=KnowledgeBaseRef("team-a", "docs.v2"),
        settings=IndexSettings(chunk_size=64, chunk_overlap=16, hybrid=True, embedding_model="m"),
        collection="rt_team_a__docs_v2_0123abcd",
        documents=3,
        chunks=42,
        last_ingested=last_ingested,
    )


def test_knowledge_base_proto_copies_fields_and_timestamp() -> None:
    message = codec.knowledge_base_proto(_info(1_700_000_000.5))
    assert (message.namespace, message.name) == ("team-a", "docs.v2")
    assert (message.documents, message.chunks) == (3, 42)
    assert message.collection == "rt_team_a__docs_v2_0123abcd"
    assert message.settings.chunk_size == 64
    assert message.settings.chunk_overlap == 16
    assert message.settings.hybrid
    assert message.settings.embedding_model == "m"
    assert message.HasField("last_ingested")
    assert message.last_ingested.seconds == 1_700_000_000
    assert message.last_ingested.nanos == 500_000_000


def test_knowledge_base_proto_leaves_last_ingested_unset_when_never_ingested() -> None:
    message = codec.knowledge_base_proto(_info(0.0))
    assert not message.HasField("last_ingested")


REPORTS = [
    AdapterReport("tone", "generation", "ready", loaded=True),
    AdapterReport("rr", "rerank", "ready", loaded=False),  # evicted: reloads on use
    AdapterReport("big", "generation", "failed", reason="other base model"),
    AdapterReport("legal.v2", "generation", "ready", loaded=True),
]


def test_knowledge_base_proto_reports_adapters_sorted() -> None:
    assert codec.knowledge_base_proto(_info(0.0)).loaded_adapters == []
    message = codec.knowledge_base_proto(_info(0.0), REPORTS)
    assert list(message.loaded_adapters) == ["legal.v2", "tone"]
    assert [(a.name, a.state, a.reason) for a in message.adapters] == [
        ("big", pb.ADAPTER_STATE_FAILED, "other base model"),
        ("legal.v2", pb.ADAPTER_STATE_READY, ""),
        ("rr", pb.ADAPTER_STATE_READY, ""),
        ("tone", pb.ADAPTER_STATE_READY, ""),
    ]
    assert [a.purpose for a in message.adapters][2] == "rerank"


def test_knowledge_base_json_carries_adapters_in_camel_case() -> None:
    body = json_format.MessageToDict(codec.knowledge_base_proto(_info(0.0), REPORTS[:1]))
    assert body["loadedAdapters"] == ["tone"]
    assert body["adapters"] == [
        {"name": "tone", "purpose": "generation", "state": "ADAPTER_STATE_READY", "loaded": True}
    ]
    dropped = json_format.MessageToDict(pb.DeleteKnowledgeBaseResponse(existed=True))
    assert dropped == {"existed": True}
    assert json_format.MessageToDict(pb.DeleteKnowledgeBaseResponse()) == {}
