"""Which adapters a serving deployment refuses to load, and why a request may not use one. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from ragtune_serving.config import AdapterArgs
from ragtune_serving.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RagtuneError,
)
from ragtune_serving.rag.records import AdapterReport

GENERATOR_PURPOSES = ("generation", "query-rewrite")


def generator_refusal(name: str, args: AdapterArgs, base_model: str) -> str | None:
    """Why a generator serving `base_model` cannot serve adapter `name`, or None if it can."""
    if args.purpose not in GENERATOR_PURPOSES:
        return f"adapter {name!r} is a {args.purpose} adapter; the reranker serves those"
    if args.base_model != base_model:
        return (
            f"adapter {name!r} was made for base model {args.base_model!r}, but this generator "
            f"serves {base_model!r}; train it on {base_model!r} or serve it with a generator of "
            "its base model"
        )
    return None


def reranker_refusal(name: str, args: AdapterArgs) -> str | None:
    """Why the reranker cannot serve adapter `name`, or None if it can."""
    if args.purpose != "rerank":
        return f"adapter {name!r} is a {args.purpose} adapter; the generator serves those"
    return None


def adapter_problem(
    reports: Sequence[AdapterReport], name: str, purpose: str, field: str
) -> RagtuneError | None:
    """Why a request may not run through adapter `name` as a `purpose` adapter, or None.

    NotFound for an adapter not served; InvalidArgument for one of another purpose;
    FailedPrecondition for one that failed to load. `field` is the request field naming it.
    """
    report = next((r for r in reports if r.name == name), None)
    if report is None:
        known = ", ".join(sorted(r.name for r in reports if r.purpose == purpose)) or "none"
        return NotFound(
            f"adapter {name!r} is not served here (served {purpose} adapters: {known}); apply "
            "an Adapter of that name and reference it from the knowledge base",
            field=field,
        )
    if report.purpose != purpose:
        return InvalidArgument(
            f"adapter {name!r} is a {report.purpose} adapter, not a {purpose} one", field=field
        )
    if report.state == "failed":
        return FailedPrecondition(f"adapter {name!r} failed to load: {report.reason}", field=field)
    return None
