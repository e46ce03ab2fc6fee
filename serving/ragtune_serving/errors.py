"""Domain errors. Each maps to one gRPC status code in grpcapi/errors.py, and nowhere else."""

from __future__ import annotations

from typing import Any


class RagtuneError(Exception):
    """Base of every error a client may see; `field` names the offending request field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep `field` when the error crosses a process boundary (Ray pickles it).
        return (_rebuild, (type(self), self.message, self.field))


def _rebuild(kind: type[RagtuneError], message: str, field: str | None) -> RagtuneError:
    return kind(message, field=field)


class InvalidArgument(RagtuneError):
    """The request itself is wrong; retrying it unchanged fails again."""


class NotFound(RagtuneError):
    """The knowledge base or document named does not exist."""


class FailedPrecondition(RagtuneError):
    """The request is valid but conflicts with the stored state (e.g. other index settings)."""


class Unavailable(RagtuneError):
    """A dependency (Milvus, a model replica) cannot be reached; retrying later may work."""


class Unauthenticated(RagtuneError):
    """The knowledge base requires a bearer token and the request has none, or a wrong one."""


class ResourceExhausted(RagtuneError):
    """The service is at capacity; back off and retry."""


class DocumentRefused(RagtuneError):
    """One document of a batch cannot be ingested; the rest of the batch goes on."""
