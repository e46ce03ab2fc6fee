"""The serving modes an evaluation compares, and the query each makes of a question.

`base`, `rag`, `adapter`, `rag+adapter` are the service's modes; `rag+rewrite` and `rag+rerank`
are `rag` with the knowledge base's query-rewrite or rerank adapter. Plain modes switch rewrite
and rerank off explicitly, so a knowledge base's defaults do not blur the comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ragtune.v1 import ragtune_pb2 as pb


@dataclass(frozen=True, slots=True)
class ModeSpec:
    mode: pb.Mode
    retrieval: bool
    needs: str | None = None  # the adapter purpose the mode needs, if any
    rewrite: bool = False
    rerank: bool = False


MODES: dict[str, ModeSpec] = {
    "base": ModeSpec(pb.MODE_BASE, retrieval=False),
    "rag": ModeSpec(pb.MODE_RAG, retrieval=True),
    "adapter": ModeSpec(pb.MODE_ADAPTER, retrieval=False, needs="generation"),
    "rag+adapter": ModeSpec(pb.MODE_RAG_ADAPTER, retrieval=True, needs="generation"),
    "rag+rewrite": ModeSpec(pb.MODE_RAG, retrieval=True, needs="query-rewrite", rewrite=True),
    "rag+rerank": ModeSpec(pb.MODE_RAG, retrieval=True, needs="rerank", rerank=True),
}


class ModeError(ValueError):
    """A mode that cannot be evaluated on this knowledge base, and why."""


def ready_adapters(kb: pb.KnowledgeBase) -> dict[str, list[str]]:
    """Names of the knowledge base's ready adapters, by purpose."""
    ready: dict[str, list[str]] = {}
    for adapter in kb.adapters:
        if adapter.state == pb.ADAPTER_STATE_READY:
            ready.setdefault(adapter.purpose, []).append(adapter.name)
    return ready


def choose(kb: pb.KnowledgeBase, asked: Sequence[str] | None, adapter: str) -> list[str]:
    """The modes to run: those `asked` (each checked), else every mode the knowledge base can
    serve. `adapter`: the generation adapter the adapter modes use ("" = its only one)."""
    ready = ready_adapters(kb)
    names = list(asked) if asked else list(MODES)
    unknown = [n for n in names if n not in MODES]
    if unknown:
        raise ModeError(f"unknown mode {unknown[0]!r}; modes: {', '.join(MODES)}")
    chosen = []
    for name in names:
        needs = MODES[name].needs
        have = ready.get(needs, []) if needs else []
        if needs and not have:
            if asked:
                raise ModeError(f"mode {name!r} needs a ready {needs} adapter; {kb.name} has none")
            continue
        if needs == "generation" and adapter and adapter not in have:
            raise ModeError(f"adapter {adapter!r} is not a ready generation adapter of {kb.name}")
        if needs == "generation" and not adapter and len(have) > 1:
            raise ModeError(
                f"{kb.name} has {len(have)} generation adapters ({', '.join(sorted(have))}); "
                "name one with --adapter"
            )
        chosen.append(name)
    return chosen


def request(
    name: str,
    kb: str,
    question: str,
    *,
    adapter: str = "",
    top_k: int | None = None,
    max_tokens: int | None = None,
) -> pb.QueryRequest:
    """The query mode `name` makes of `question`."""
    spec = MODES[name]
    query = pb.QueryRequest(
        knowledge_base=kb,
        question=question,
        mode=spec.mode,
        adapter=adapter if spec.needs == "generation" else "",
        rewrite=spec.rewrite,
        rerank=spec.rerank,
        temperature=0.0,
    )
    if top_k is not None:
        query.top_k = top_k
    if max_tokens is not None:
        query.max_tokens = max_tokens
    return query
