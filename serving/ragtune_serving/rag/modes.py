"""How a question is answered: the mode, and the adapters each stage runs through.

Pure. A request may name its mode and adapters; whatever it leaves out comes from the knowledge
base's declared adapters. Conflicts (an adapter named for a mode that uses none, a stage
switched on with no adapter for it) are refused with the field at fault, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragtune_serving.errors import InvalidArgument
from ragtune_serving.rag.records import ADAPTER_MODES, RETRIEVING_MODES, Mode


@dataclass(frozen=True, slots=True)
class DeclaredAdapters:
    """The adapters a knowledge base declares (its KnowledgeBase spec), each None if unset."""

    generation: str | None = None
    query_rewrite: str | None = None
    rerank: str | None = None


@dataclass(frozen=True, slots=True)
class AskedFor:
    """What a request says about mode and adapters; None / "" for what it leaves out."""

    mode: Mode | None = None
    adapter: str = ""
    rewrite: bool | None = None
    rewrite_adapter: str = ""
    rerank: bool | None = None
    rerank_adapter: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """The resolved way to answer."""

    mode: Mode
    adapter: str | None
    rewrite_adapter: str | None
    rerank_adapter: str | None


def resolve(asked: AskedFor, declared: DeclaredAdapters) -> Plan:
    """The mode and adapters for a request; InvalidArgument names the conflicting field."""
    adapter = asked.adapter or declared.generation
    mode = asked.mode or ("rag+adapter" if adapter else "rag")
    if mode in ADAPTER_MODES:
        if not adapter:
            raise InvalidArgument(
                f"mode {mode} needs a generation adapter: name one in `adapter`, or set the "
                "knowledge base's generator adapter",
                field="adapter",
            )
    elif asked.adapter:
        raise InvalidArgument(
            f"mode {mode} answers with the base model, but adapter {asked.adapter!r} is named; "
            f"ask in mode {'rag+adapter' if mode == 'rag' else 'adapter'} to use it",
            field="adapter",
        )
    else:
        adapter = None
    retrieves = mode in RETRIEVING_MODES
    rewrite = _stage(
        "rewrite", asked.rewrite, asked.rewrite_adapter, declared.query_rewrite, retrieves, mode
    )
    rerank = _stage("rerank", asked.rerank, asked.rerank_adapter, declared.rerank, retrieves, mode)
    return Plan(mode=mode, adapter=adapter, rewrite_adapter=rewrite, rerank_adapter=rerank)


def _stage(
    name: str,
    switch: bool | None,
    asked_adapter: str,
    declared: str | None,
    retrieves: bool,
    mode: Mode,
) -> str | None:
    """The adapter a retrieval stage runs through, or None when the stage is off."""
    if switch is False:
        if asked_adapter:
            raise InvalidArgument(
                f"{name} is switched off but {name}_adapter names {asked_adapter!r}",
                field=f"{name}_adapter",
            )
        return None
    adapter = asked_adapter or declared
    if not retrieves:
        if switch or asked_adapter:
            raise InvalidArgument(
                f"mode {mode} does not retrieve, so there is nothing to {name}; ask in mode rag "
                "or rag+adapter",
                field=name if switch else f"{name}_adapter",
            )
        return None
    if switch and not adapter:
        purpose = "query-rewrite" if name == "rewrite" else "rerank"
        raise InvalidArgument(
            f"{name} is switched on but no {purpose} adapter is named: set {name}_adapter, or "
            f"the knowledge base's {purpose} adapter",
            field=f"{name}_adapter",
        )
    return adapter or None
