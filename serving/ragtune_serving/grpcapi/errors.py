"""Domain errors → gRPC status codes and HTTP statuses. The one mapping, used by every door."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import grpc
from google.protobuf.message import Message
from ray.exceptions import NodeDiedError, RayActorError, WorkerCrashedError
from ray.serve.exceptions import BackPressureError

from ragtune_serving.errors import (
    DocumentRefused,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RagtuneError,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

logger = logging.getLogger("ray.serve")
P = TypeVar("P", bound=Message)


class StatusContext(Protocol):
    """The part of a gRPC servicer context that carries the status (Serve's or grpc's)."""

    def set_code(self, code: grpc.StatusCode) -> None: ...

    def set_details(self, details: str) -> None: ...


_CODES: tuple[tuple[type[RagtuneError], grpc.StatusCode, int], ...] = (
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT, 400),
    (DocumentRefused, grpc.StatusCode.INVALID_ARGUMENT, 400),
    (NotFound, grpc.StatusCode.NOT_FOUND, 404),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION, 409),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    (Unavailable, grpc.StatusCode.UNAVAILABLE, 503),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, 401),
)


REPLICA_DIED = (RayActorError, WorkerCrashedError, NodeDiedError)


def grpc_status(error: BaseException) -> grpc.StatusCode:
    """The status code a client gets for `error`; INTERNAL for anything unexpected."""
    for kind, code, _ in _CODES:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def http_status(error: BaseException) -> int:
    """The HTTP status the JSON door answers with for `error`."""
    for kind, _, status in _CODES:
        if isinstance(error, kind):
            return status
    return 500


def domain_error(error: BaseException) -> RagtuneError | None:
    """The RagtuneError behind `error`, unwrapping Ray's RayTaskError (`.cause`) and chains.
    A deployment's full queue (Serve's BackPressureError, met by the gateway calling a busy
    deployment) is ResourceExhausted, as a full gateway queue is for the proxy; a replica that
    died under the request (Serve starts another) is Unavailable: retrying may work."""
    seen: set[int] = set()
    current: BaseException | None = error
    found: RagtuneError | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BackPressureError):
            found = ResourceExhausted(f"the service is at capacity, retry later: {current}")
        if isinstance(current, REPLICA_DIED):
            found = Unavailable(
                "a serving replica stopped while answering this request; retry (Ray Serve "
                f"replaces it): {type(current).__name__}"
            )
        if isinstance(current, RagtuneError):
            found = current  # keep unwrapping: Ray's wrapper is a RagtuneError subclass too
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return found


def fail(context: StatusContext, error: BaseException) -> None:
    """Put `error` on the call as a status code and message; log only the unexpected ones."""
    known = domain_error(error)
    if known is None:
        logger.exception("request failed", exc_info=error)
        context.set_code(grpc.StatusCode.INTERNAL)
        context.set_details(f"internal error: {error}")
        return
    context.set_code(grpc_status(known))
    context.set_details(str(known))


async def unary(context: StatusContext, empty: type[P], operation: Callable[[], Awaitable[P]]) -> P:
    """Run a unary operation; on error set the status on the call and return `empty()`."""
    try:
        return await operation()
    except Exception as error:
        fail(context, error)
        return empty()
