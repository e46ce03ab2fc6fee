"""ragtune's RagService registration: the generated one's methods and types, tolerant parsing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf.message import DecodeError

from ragtune.v1 import ragtune_pb2 as pb
from ragtune.v1 import ragtune_pb2_grpc as pb_grpc
from ragtune_serving.errors import InvalidArgument
from ragtune_serving.grpcapi.errors import grpc_status
from ragtune_serving.grpcapi.servicer import Undecodable, add_rag_service, decoded


class _Recorder:
    """A server that keeps what is registered on it."""

    def __init__(self) -> None:
        self.generic: list[Any] = []
        self.registered: dict[str, dict[str, grpc.RpcMethodHandler]] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:
        self.registered[service] = dict(handlers)


class _Servicer:
    def __getattr__(self, name: str) -> Any:
        return lambda request, context: (name, request)


def _registered(add: Any) -> dict[str, grpc.RpcMethodHandler]:
    server = _Recorder()
    add(_Servicer(), server)
    assert len(server.generic) == 1 and list(server.registered) == ["ragtune.v1.RagService"]
    return server.registered["ragtune.v1.RagService"]


def test_the_same_methods_kinds_and_types_as_the_generated_registration() -> None:
    ours, generated = (
        _registered(add_rag_service),
        _registered(pb_grpc.add_RagServiceServicer_to_server),
    )
    assert set(ours) == set(generated) and len(ours) == 7
    good = {
        "Query": pb.QueryRequest(knowledge_base="a/b", question="q"),
        "QueryStream": pb.QueryRequest(knowledge_base="a/b", question="q"),
        "Ingest": pb.IngestRequest(knowledge_base="a/b"),
        "DeleteDocuments": pb.DeleteDocumentsRequest(knowledge_base="a/b", document_ids=["x"]),
        "GetKnowledgeBase": pb.GetKnowledgeBaseRequest(knowledge_base="a/b"),
        "DeleteKnowledgeBase": pb.DeleteKnowledgeBaseRequest(knowledge_base="a/b"),
        "WatchLatency": pb.WatchLatencyRequest(knowledge_base="a/b"),
    }
    for name, handler in ours.items():
        reference = generated[name]
        assert (handler.request_streaming, handler.response_streaming) == (
            reference.request_streaming,
            reference.response_streaming,
        )
        data = good[name].SerializeToString()
        assert handler.request_deserializer(data) == reference.request_deserializer(data)
        reply = pb.QueryResponse(answer="a") if name == "Query" else None
        if reply is not None:
            assert handler.response_serializer(reply) == reference.response_serializer(reply)


@pytest.mark.parametrize("data", [b"\x12\x02\xff\xfe", b"\x0a\x10abc", b"\x00\x00"])
def test_bytes_that_do_not_parse_become_an_invalid_argument_naming_the_type(data: bytes) -> None:
    query = _registered(add_rag_service)["Query"]
    with pytest.raises(DecodeError):  # the generated parser raises: grpc would answer UNKNOWN
        pb.QueryRequest.FromString(data)
    parsed = query.request_deserializer(data)
    assert isinstance(parsed, Undecodable) and parsed.message_type == "ragtune.v1.QueryRequest"
    with pytest.raises(InvalidArgument) as raised:
        decoded(parsed)
    assert grpc_status(raised.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value).startswith("request: the request is not a valid ragtune.v1.Query")
    decoded(pb.QueryRequest())  # a parsed request passes
