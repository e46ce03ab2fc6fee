"""Which adapters a serving deployment refuses to load, and why. Pure."""

from __future__ import annotations

from ragtune_serving.config import AdapterArgs

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
