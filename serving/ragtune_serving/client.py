"""A small typed gRPC client for RagService, used by the CLI, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ragtune.v1 import ragtune_pb2 as pb
from ragtune.v1 import ragtune_pb2_grpc as pb_grpc

R = TypeVar("R")
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]


CHANNEL_DOWN = ("failed to connect to all addresses", "dns resolution failed")


class ClientError(RuntimeError):
    """A call failed: `code` is the gRPC status, the message says what to do."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RagClient:
    """RagService over one channel; methods raise ClientError with the server's message."""

    def __init__(self, address: str, *, timeout_s: float = 300.0, token: str | None = None) -> None:
        """`token`: the bearer token sent with every RagService call (health goes without)."""
        self.address = address
        self._timeout = timeout_s
        token = (token or "").strip()  # a Secret's file often ends with a newline
        self._metadata = [("authorization", f"Bearer {token}")] if token else []
        self._channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        stub: Any = pb_grpc.RagServiceStub  # generated code is untyped
        self._stub: Any = stub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def __enter__(self) -> RagClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def healthy(self, timeout_s: float = 5.0) -> bool:
        """True when the gateway answers SERVING."""
        try:
            reply = self._health.Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def query(self, request: pb.QueryRequest) -> pb.QueryResponse:
        reply: pb.QueryResponse = self._call(self._stub.Query, request)
        return reply

    def query_stream(self, request: pb.QueryRequest) -> Iterator[pb.QueryStreamResponse]:
        try:
            yield from self._stub.QueryStream(
                request, timeout=self._timeout, metadata=self._metadata
            )
        except grpc.RpcError as error:
            raise _client_error(error, self.address) from error

    def ingest(self, request: pb.IngestRequest) -> pb.IngestResponse:
        reply: pb.IngestResponse = self._call(self._stub.Ingest, request)
        return reply

    def delete_documents(self, kb: str, document_ids: Sequence[str]) -> pb.DeleteDocumentsResponse:
        request = pb.DeleteDocumentsRequest(knowledge_base=kb, document_ids=list(document_ids))
        reply: pb.DeleteDocumentsResponse = self._call(self._stub.DeleteDocuments, request)
        return reply

    def get_knowledge_base(self, kb: str) -> pb.KnowledgeBase:
        request = pb.GetKnowledgeBaseRequest(knowledge_base=kb)
        reply: pb.KnowledgeBase = self._call(self._stub.GetKnowledgeBase, request)
        return reply

    def delete_knowledge_base(self, kb: str) -> pb.DeleteKnowledgeBaseResponse:
        """Drop knowledge base `kb` and every index version; `existed` False if it was absent."""
        request = pb.DeleteKnowledgeBaseRequest(knowledge_base=kb)
        reply: pb.DeleteKnowledgeBaseResponse = self._call(self._stub.DeleteKnowledgeBase, request)
        return reply

    def watch_latency(self, request: pb.WatchLatencyRequest) -> Iterator[pb.LatencySnapshot]:
        try:
            yield from self._stub.WatchLatency(request, metadata=self._metadata)
        except grpc.RpcError as error:
            raise _client_error(error, self.address) from error

    def _call(self, method: Callable[..., R], request: Message) -> R:
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise _client_error(error, self.address) from error


def _client_error(error: grpc.RpcError, address: str) -> ClientError:
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (error.details() if isinstance(error, grpc.Call) else "") or str(code)
    # The channel's own words when nothing listens; a server's UNAVAILABLE (Milvus down)
    # keeps its message.
    if code == grpc.StatusCode.UNAVAILABLE and details.lower().startswith(CHANNEL_DOWN):
        details = f"ragtune is not running at {address}; start it with `ragtune serve`"
    return ClientError(code, details)
