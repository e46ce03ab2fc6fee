"""Answering a question: [rewrite] → retrieve → [re-rank] → numbered-context prompt → generate
(through a LoRA adapter or the base model), as a stream of events.

Transport- and Ray-agnostic: the stages come in as async callables, so the gateway wires in
Ray Serve handles and tests can wire in the real components directly. The event order is
fixed: one `CitationsEvent`, then `TokenEvent`s, then one `FinalEvent`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from ragtune_serving.engines.base import Message, SamplingParams, Usage
from ragtune_serving.rag.citations import cited_indexes
from ragtune_serving.rag.filters import metadata_filter_expression
from ragtune_serving.rag.prompting import NO_ANSWER, build_base_messages, build_rag_messages
from ragtune_serving.rag.records import (
    AnswerEvent,
    CitationsEvent,
    FinalEvent,
    Hit,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    QueryParams,
    Timing,
    TokenEvent,
)

Embed = Callable[[str], Awaitable[Sequence[float]]]
Describe = Callable[[KnowledgeBaseRef], Awaitable[KnowledgeBaseInfo]]
Retrieve = Callable[[KnowledgeBaseInfo, Sequence[float], str, int, str], Awaitable[list[Hit]]]
Generate = Callable[[Sequence[Message], SamplingParams, Usage, str | None], AsyncIterator[str]]
Rewrite = Callable[[str, str], Awaitable[str]]  # (question, adapter) → search query
Rerank = Callable[
    [str, list[Hit], str], Awaitable[list[Hit]]
]  # (query, hits, adapter) → best first


@dataclass(frozen=True, slots=True)
class Stages:
    """The callables one answer goes through."""

    describe: Describe
    embed: Embed
    retrieve: Retrieve
    generate: Generate
    rewrite: Rewrite
    rerank: Rerank


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


async def answer(params: QueryParams, stages: Stages) -> AsyncIterator[AnswerEvent]:
    """Answer `params.question` from its knowledge base (or from the model alone in the modes
    without retrieval)."""
    started = time.perf_counter()
    timing = Timing()
    hits: list[Hit] = []
    query = ""
    reranked = False
    if not params.retrieves:
        messages = build_base_messages(params.question)
        grounded = True
    else:
        info = await stages.describe(params.ref)
        expression = metadata_filter_expression(params.filters)
        query = params.question
        if params.rewrite_adapter:
            t = time.perf_counter()
            query = await stages.rewrite(params.question, params.rewrite_adapter)
            timing.rewrite_ms = _ms(t)
        t = time.perf_counter()
        vector = await stages.embed(query)
        timing.embed_ms = _ms(t)
        wanted = params.rerank_candidates if params.rerank_adapter else params.top_k
        t = time.perf_counter()
        hits = await stages.retrieve(info, vector, query, wanted, expression)
        timing.retrieve_ms = _ms(t)
        grounded = bool(hits) and max(h.similarity for h in hits) >= params.score_threshold
        if grounded and params.rerank_adapter:
            t = time.perf_counter()
            # judged against what was asked: the rewrite serves first-stage recall only
            ranked = await stages.rerank(params.question, hits, params.rerank_adapter)
            hits = ranked[: params.top_k]
            timing.rerank_ms = _ms(t)
            reranked = True
        if not grounded:
            hits = []
        messages = build_rag_messages(params.question, hits)
    yield CitationsEvent(
        hits=hits,
        grounded=grounded,
        mode=params.mode,
        adapter=params.adapter,
        rewritten_question=query if query.strip() != params.question.strip() else "",
        reranked=reranked,
    )

    if not grounded:
        timing.total_ms = _ms(started)
        yield TokenEvent(NO_ANSWER)
        yield FinalEvent(NO_ANSWER, timing, 0, 0, [])
        return

    usage = Usage()
    sampling = SamplingParams(max_tokens=params.max_tokens, temperature=params.temperature)
    parts: list[str] = []
    t = time.perf_counter()
    async for text in stages.generate(messages, sampling, usage, params.adapter):
        if not text:
            continue
        if not parts:
            timing.time_to_first_token_ms = _ms(t)
        parts.append(text)
        yield TokenEvent(text)
    timing.generate_ms = _ms(t)
    text = "".join(parts).strip()
    timing.total_ms = _ms(started)
    cited = cited_indexes(text, len(hits))
    yield FinalEvent(text, timing, usage.prompt_tokens, usage.completion_tokens, cited)
