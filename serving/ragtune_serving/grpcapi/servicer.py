"""RagService's registration with Serve's gRPC proxy (its `grpc_servicer_functions` entry).

The same methods, types and serializers as the generated `add_RagServiceServicer_to_server`,
with one difference: a request whose bytes do not parse reaches the gateway as `Undecodable`,
which it answers INVALID_ARGUMENT naming the message type. With the generated deserializer grpc
itself answers such bytes UNKNOWN, "Unexpected <class 'DecodeError'>", before ragtune sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.errors import InvalidArgument

SERVICE = pb.DESCRIPTOR.services_by_name["RagService"]


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Request bytes that are not a `message_type`; travels to the gateway in its place."""

    message_type: str
    error: str
    knowledge_base: str = ""  # named by no request that could not be read

    def problem(self) -> InvalidArgument:
        return InvalidArgument(
            f"the request is not a valid {self.message_type} ({self.error}); send one "
            "serialized from ragtune.proto",
            field="request",
        )


def decoded(request: object) -> None:
    """Raise InvalidArgument if the request's bytes could not be parsed."""
    if isinstance(request, Undecodable):
        raise request.problem()


def tolerant_parser(kind: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    """`kind.FromString`, returning Undecodable instead of raising DecodeError."""

    def parse(data: bytes) -> Message | Undecodable:
        try:
            return kind.FromString(data)
        except DecodeError as error:
            return Undecodable(kind.DESCRIPTOR.full_name, str(error))

    return parse


def add_rag_service(servicer: Any, server: Any) -> None:
    """Register `servicer`'s RagService methods on `server` (as the generated function does)."""
    handlers = {}
    for method in SERVICE.methods:
        request: type[Message] = getattr(pb, method.input_type.name)
        response: type[Message] = getattr(pb, method.output_type.name)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=tolerant_parser(request),
            response_serializer=response.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),)
    )
    server.add_registered_method_handlers(SERVICE.full_name, handlers)
