"""Domain errors map to one gRPC code and HTTP status each, through wrappers and processes."""

from __future__ import annotations

import asyncio
import pickle

import grpc
import pytest
from ray.exceptions import ActorDiedError, ActorUnavailableError, WorkerCrashedError
from ray.serve.exceptions import BackPressureError

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.errors import (
    DocumentRefused,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RagtuneError,
    ResourceExhausted,
    Unavailable,
)
from ragtune_serving.grpcapi.errors import domain_error, fail, grpc_status, http_status, unary

MAPPING = [
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT, 400),
    (DocumentRefused, grpc.StatusCode.INVALID_ARGUMENT, 400),
    (NotFound, grpc.StatusCode.NOT_FOUND, 404),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION, 409),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    (Unavailable, grpc.StatusCode.UNAVAILABLE, 503),
]
DOMAIN_ERRORS = [kind for kind, _, _ in MAPPING]


class WrappedTaskError(Exception):
    """Like Ray's RayTaskError: carries the remote exception as `.cause`, not `__cause__`."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"task failed: {cause}")
        self.cause = cause


class WrappedDomainError(WrappedTaskError, NotFound):
    """Like Ray's dual-class wrapper, which also subclasses the remote exception's type."""

    def __init__(self, cause: BaseException) -> None:
        WrappedTaskError.__init__(self, cause)
        self.message, self.field = str(cause), None


class RecordingContext:
    """The status part of a servicer context, remembering what was set."""

    def __init__(self) -> None:
        self.codes: list[grpc.StatusCode] = []
        self.details: list[str] = []

    def set_code(self, code: grpc.StatusCode) -> None:
        self.codes.append(code)

    def set_details(self, details: str) -> None:
        self.details.append(details)


@pytest.mark.parametrize(("kind", "code", "status"), MAPPING)
def test_each_domain_error_has_its_code_and_status(
    kind: type[RagtuneError], code: grpc.StatusCode, status: int
) -> None:
    error = kind("boom", field="x")
    assert grpc_status(error) == code
    assert http_status(error) == status


@pytest.mark.parametrize(
    "error", [RuntimeError("x"), ValueError("x"), KeyError("x"), RagtuneError("base")]
)
def test_unknown_errors_are_internal(error: BaseException) -> None:
    assert grpc_status(error) == grpc.StatusCode.INTERNAL
    assert http_status(error) == 500


def test_subclass_of_a_domain_error_gets_the_parent_mapping() -> None:
    class MissingDocument(NotFound):
        pass

    assert grpc_status(MissingDocument("gone")) == grpc.StatusCode.NOT_FOUND
    assert http_status(MissingDocument("gone")) == 404


def test_str_names_the_field() -> None:
    assert str(InvalidArgument("is empty", field="question")) == "question: is empty"
    assert str(InvalidArgument("is empty")) == "is empty"


# domain_error


def test_domain_error_returns_the_error_itself() -> None:
    error = NotFound("no such knowledge base")
    assert domain_error(error) is error


def test_domain_error_is_none_for_unrelated_errors() -> None:
    assert domain_error(RuntimeError("x")) is None


def test_domain_error_follows_cause_chains() -> None:
    inner = Unavailable("milvus down")
    try:
        try:
            raise inner
        except Unavailable as error:
            raise RuntimeError("retrieve failed") from error
    except RuntimeError as outer:
        assert domain_error(outer) is inner


def test_domain_error_follows_a_cause_attribute() -> None:
    inner = InvalidArgument("bad", field="top_k")
    assert domain_error(WrappedTaskError(inner)) is inner


def test_domain_error_follows_a_cause_attribute_then_a_chain() -> None:
    inner = ResourceExhausted("queue full")
    middle = RuntimeError("replica failed")
    middle.__cause__ = inner
    assert domain_error(WrappedTaskError(middle)) is inner


def test_domain_error_prefers_the_innermost_domain_error() -> None:
    inner = InvalidArgument("bad", field="question")
    wrapper = WrappedDomainError(inner)
    assert isinstance(wrapper, RagtuneError)
    assert domain_error(wrapper) is inner


def test_domain_error_keeps_an_outer_domain_error_when_the_inner_is_unknown() -> None:
    outer = NotFound("gone")
    outer.__cause__ = OSError("disk")
    assert domain_error(outer) is outer


def test_domain_error_stops_on_cycles() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert domain_error(first) is None
    found = NotFound("x")
    found.__cause__ = first
    first.__cause__ = found
    assert domain_error(found) is found


def test_non_exception_cause_attribute_falls_back_to_the_chain() -> None:
    error = RuntimeError("x")
    error.cause = "not an exception"  # type: ignore[attr-defined]
    inner = NotFound("y")
    error.__cause__ = inner
    assert domain_error(error) is inner


# pickling (Ray moves errors between processes)


@pytest.mark.parametrize("kind", [RagtuneError, *DOMAIN_ERRORS])
@pytest.mark.parametrize("field", ["question", None])
def test_errors_survive_pickling_with_their_field(
    kind: type[RagtuneError], field: str | None
) -> None:
    error = kind("something is wrong", field=field)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is kind
    assert copy.field == field
    assert copy.message == "something is wrong"
    assert str(copy) == str(error)
    assert grpc_status(copy) == grpc_status(error)


# fail and unary


def test_fail_sets_the_code_and_message_of_a_domain_error() -> None:
    context = RecordingContext()
    fail(context, InvalidArgument("is empty", field="question"))
    assert context.codes == [grpc.StatusCode.INVALID_ARGUMENT]
    assert context.details == ["question: is empty"]


def test_fail_reports_the_unwrapped_domain_error() -> None:
    context = RecordingContext()
    fail(context, WrappedTaskError(NotFound("no knowledge base default/x")))
    assert context.codes == [grpc.StatusCode.NOT_FOUND]
    assert context.details == ["no knowledge base default/x"]


def test_fail_makes_unknown_errors_internal() -> None:
    context = RecordingContext()
    fail(context, ZeroDivisionError("division by zero"))
    assert context.codes == [grpc.StatusCode.INTERNAL]
    assert len(context.details) == 1
    assert "division by zero" in context.details[0]


def test_unary_returns_the_result_and_sets_no_status() -> None:
    context = RecordingContext()
    reply = pb.KnowledgeBase(namespace="default", name="handbook")

    async def operation() -> pb.KnowledgeBase:
        return reply

    assert asyncio.run(unary(context, pb.KnowledgeBase, operation)) is reply
    assert context.codes == []
    assert context.details == []


def test_unary_returns_an_empty_reply_after_setting_the_status() -> None:
    context = RecordingContext()

    async def operation() -> pb.KnowledgeBase:
        raise FailedPrecondition("settings differ", field="settings.chunk_size")

    result = asyncio.run(unary(context, pb.KnowledgeBase, operation))
    assert isinstance(result, pb.KnowledgeBase)
    assert result == pb.KnowledgeBase()
    assert context.codes == [grpc.StatusCode.FAILED_PRECONDITION]
    assert context.details == ["settings.chunk_size: settings differ"]


def test_unary_lets_cancellation_through() -> None:
    context = RecordingContext()

    async def operation() -> pb.KnowledgeBase:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(unary(context, pb.KnowledgeBase, operation))
    assert context.codes == []


def test_a_full_deployment_queue_is_resource_exhausted() -> None:
    full = BackPressureError(num_queued_requests=64, max_queued_requests=64)
    found = domain_error(WrappedTaskError(full))
    assert isinstance(found, ResourceExhausted)
    assert "max_queued_requests=64" in str(found)
    context = RecordingContext()
    fail(context, WrappedTaskError(full))
    assert context.codes == [grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert "at capacity" in context.details[0]


@pytest.mark.parametrize(
    "died",
    [ActorDiedError(), ActorUnavailableError("restarting", None), WorkerCrashedError()],
    ids=lambda error: type(error).__name__,
)
def test_a_replica_dying_under_a_request_is_unavailable(died: Exception) -> None:
    found = domain_error(WrappedTaskError(died))
    assert isinstance(found, Unavailable) and "retry" in str(found)
    context = RecordingContext()
    fail(context, WrappedTaskError(died))
    assert context.codes == [grpc.StatusCode.UNAVAILABLE]
