"""An answer is one CitationsEvent, tokens, one FinalEvent; ungrounded questions skip the LLM;
rewrite and re-rank run only when an adapter is set for them; adapters reach generation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

from ragtune_serving.engines.base import Message, SamplingParams, Usage
from ragtune_serving.pipeline import Stages, answer
from ragtune_serving.rag.filters import metadata_filter_expression
from ragtune_serving.rag.prompting import NO_ANSWER
from ragtune_serving.rag.records import (
    AnswerEvent,
    CitationsEvent,
    FinalEvent,
    Hit,
    IndexSettings,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    QueryParams,
    TokenEvent,
)

REF = KnowledgeBaseRef("default", "handbook")
INFO = KnowledgeBaseInfo(
    ref=REF,
    settings=IndexSettings(chunk_size=64, chunk_overlap=16, hybrid=False, embedding_model="m"),
    collection="rt_default__handbook_00000000",
)
VECTOR = [0.1, 0.2, 0.3]
PARAMS = QueryParams(
    ref=REF,
    question="  How many leave days?  ",
    top_k=3,
    max_tokens=32,
    temperature=0.2,
    score_threshold=0.5,
)


def _hit(number: int, similarity: float) -> Hit:
    return Hit(
        chunk_id=f"doc-{number}#0",
        document_id=f"doc-{number}",
        chunk=0,
        text=f"Passage {number} text.",
        score=similarity,
        similarity=similarity,
    )


@dataclass
class FakeStages:
    """Real async stage functions that record their calls, optionally pausing in each."""

    hits: list[Hit]
    pieces: list[str]
    delay_s: float = 0.0
    calls: list[str] = field(default_factory=list)
    retrieve_args: list[tuple[object, ...]] = field(default_factory=list)
    generate_args: list[tuple[Sequence[Message], SamplingParams]] = field(default_factory=list)
    adapters: list[str | None] = field(default_factory=list)  # one per generate call
    rewritten: str = "rewritten query"
    rerank_args: list[tuple[str, list[Hit], str]] = field(default_factory=list)

    async def describe(self, ref: KnowledgeBaseRef) -> KnowledgeBaseInfo:
        self.calls.append("describe")
        assert ref == REF
        return INFO

    async def embed(self, text: str) -> Sequence[float]:
        self.calls.append("embed")
        await asyncio.sleep(self.delay_s)
        return VECTOR

    async def retrieve(
        self,
        info: KnowledgeBaseInfo,
        vector: Sequence[float],
        question: str,
        top_k: int,
        expression: str,
    ) -> list[Hit]:
        self.calls.append("retrieve")
        self.retrieve_args.append((info, vector, question, top_k, expression))
        await asyncio.sleep(self.delay_s)
        return list(self.hits)

    def generate(
        self, messages: Sequence[Message], params: SamplingParams, usage: Usage, adapter: str | None
    ) -> AsyncIterator[str]:
        # Recorded when called, not when first iterated: a call without iteration counts too.
        self.calls.append("generate")
        self.generate_args.append((messages, params))
        self.adapters.append(adapter)
        return self._stream(usage)

    async def rewrite(self, question: str, adapter: str) -> str:
        self.calls.append(f"rewrite:{adapter}")
        await asyncio.sleep(self.delay_s)
        return self.rewritten

    async def rerank(self, query: str, hits: list[Hit], adapter: str) -> list[Hit]:
        self.calls.append(f"rerank:{adapter}")
        self.rerank_args.append((query, hits, adapter))
        await asyncio.sleep(self.delay_s)
        return list(reversed(hits))

    async def _stream(self, usage: Usage) -> AsyncIterator[str]:
        await asyncio.sleep(self.delay_s)
        for piece in self.pieces:
            await asyncio.sleep(self.delay_s)
            yield piece
        usage.prompt_tokens = 50
        usage.completion_tokens = len(self.pieces)

    def stages(self) -> Stages:
        return Stages(
            describe=self.describe,
            embed=self.embed,
            retrieve=self.retrieve,
            generate=self.generate,
            rewrite=self.rewrite,
            rerank=self.rerank,
        )


def _run(params: QueryParams, fake: FakeStages) -> list[AnswerEvent]:
    async def collect() -> list[AnswerEvent]:
        return [event async for event in answer(params, fake.stages())]

    return asyncio.run(collect())


def _split(events: list[AnswerEvent]) -> tuple[CitationsEvent, list[TokenEvent], FinalEvent]:
    first, *middle, last = events
    assert isinstance(first, CitationsEvent)
    assert isinstance(last, FinalEvent)
    assert all(isinstance(event, TokenEvent) for event in middle)
    return first, [event for event in middle if isinstance(event, TokenEvent)], last


def test_events_come_in_order_citations_tokens_final() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9), _hit(2, 0.7)], pieces=[" Twenty", "-five", " days [1]."])
    events = _run(PARAMS, fake)
    citations, tokens, final = _split(events)
    assert len(events) == 5
    assert [token.text for token in tokens] == [" Twenty", "-five", " days [1]."]
    assert citations.grounded
    assert citations.hits == fake.hits
    assert final.answer == "Twenty-five days [1]."
    assert fake.calls == ["describe", "embed", "retrieve", "generate"]


def test_final_answer_is_the_joined_tokens_stripped() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["\n", "  Yes", ", ", "it is.  ", "\n"])
    _, tokens, final = _split(_run(PARAMS, fake))
    assert final.answer == "".join(token.text for token in tokens).strip()
    assert final.answer == "Yes, it is."


def test_usage_and_sampling_reach_the_final_event_and_the_generator() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["a", "b", "c"])
    _, _, final = _split(_run(PARAMS, fake))
    assert (final.prompt_tokens, final.completion_tokens) == (50, 3)
    ((messages, sampling),) = fake.generate_args
    assert sampling.max_tokens == PARAMS.max_tokens
    assert sampling.temperature == PARAMS.temperature
    assert "Passage 1 text." in messages[-1]["content"]
    assert messages[-1]["content"].endswith("Question: How many leave days?")


def test_cited_comes_from_the_markers_within_the_hit_count() -> None:
    hits = [_hit(1, 0.9), _hit(2, 0.8), _hit(3, 0.6)]
    fake = FakeStages(hits=hits, pieces=["See [3] and [1]", ", not [4] or [0]."])
    _, _, final = _split(_run(PARAMS, fake))
    assert final.cited == [1, 3]


def test_no_markers_cite_nothing() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["No citation here."])
    _, _, final = _split(_run(PARAMS, fake))
    assert final.cited == []


def test_retrieve_gets_the_described_kb_vector_question_and_top_k() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["x"])
    _run(PARAMS, fake)
    assert fake.retrieve_args == [(INFO, VECTOR, PARAMS.question, 3, "")]


def test_metadata_filters_reach_retrieve_as_a_milvus_expression() -> None:
    filters = {"lang": "en", "team": 'ops" or 1==1'}
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["x"])
    _run(replace(PARAMS, filters=filters), fake)
    ((_, _, _, _, expression),) = fake.retrieve_args
    assert expression == metadata_filter_expression(filters)
    assert expression.startswith('metadata["lang"] == "en" and metadata["team"] == ')


def _assert_ungrounded(events: list[AnswerEvent], fake: FakeStages) -> None:
    citations, tokens, final = _split(events)
    assert not citations.grounded
    assert citations.hits == []
    assert [token.text for token in tokens] == [NO_ANSWER]
    assert final.answer == NO_ANSWER
    assert final.cited == []
    assert (final.prompt_tokens, final.completion_tokens) == (0, 0)
    assert "generate" not in fake.calls
    assert fake.generate_args == []


def test_best_hit_below_the_threshold_skips_generation() -> None:
    fake = FakeStages(hits=[_hit(1, 0.49), _hit(2, 0.1)], pieces=["must not appear"])
    _assert_ungrounded(_run(PARAMS, fake), fake)
    assert fake.calls == ["describe", "embed", "retrieve"]


def test_no_hits_skip_generation() -> None:
    fake = FakeStages(hits=[], pieces=["must not appear"])
    _assert_ungrounded(_run(PARAMS, fake), fake)


def test_threshold_is_judged_on_the_best_hit_not_the_first() -> None:
    fake = FakeStages(hits=[_hit(1, 0.2), _hit(2, 0.5)], pieces=["ok [2]"])
    citations, _, final = _split(_run(PARAMS, fake))
    assert citations.grounded
    assert len(citations.hits) == 2
    assert final.cited == [2]


def test_negative_threshold_lets_any_hit_through() -> None:
    fake = FakeStages(hits=[_hit(1, -0.3)], pieces=["ok"])
    citations, _, final = _split(_run(replace(PARAMS, score_threshold=-0.5), fake))
    assert citations.grounded
    assert final.answer == "ok"


def test_base_mode_skips_retrieval_and_is_grounded() -> None:
    fake = FakeStages(hits=[_hit(1, 0.0)], pieces=["Hello", " there."])
    events = _run(replace(PARAMS, mode="base", score_threshold=1.0), fake)
    citations, _, final = _split(events)
    assert fake.calls == ["generate"]
    assert citations.grounded
    assert citations.hits == []
    assert final.answer == "Hello there."
    assert final.timing.embed_ms == 0.0
    assert final.timing.retrieve_ms == 0.0
    ((messages, _),) = fake.generate_args
    assert messages[-1]["content"] == "How many leave days?"
    assert "<context>" not in "".join(message["content"] for message in messages)


def test_base_mode_ignores_markers_for_citations() -> None:
    fake = FakeStages(hits=[], pieces=["As said in [1]."])
    _, _, final = _split(_run(replace(PARAMS, mode="base"), fake))
    assert final.cited == []


def test_timing_in_rag_mode() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["a", "b"], delay_s=0.01)
    _, _, final = _split(_run(PARAMS, fake))
    timing = final.timing
    assert timing.embed_ms >= 10.0 * 0.9
    assert timing.retrieve_ms >= 10.0 * 0.9
    assert timing.generate_ms > 0
    assert 0 < timing.time_to_first_token_ms <= timing.generate_ms
    assert timing.total_ms >= timing.generate_ms + timing.embed_ms + timing.retrieve_ms
    assert timing.rewrite_ms == 0.0
    assert timing.rerank_ms == 0.0


def test_timing_when_ungrounded() -> None:
    fake = FakeStages(hits=[], pieces=[], delay_s=0.01)
    _, _, final = _split(_run(PARAMS, fake))
    timing = final.timing
    assert timing.embed_ms > 0
    assert timing.retrieve_ms > 0
    assert timing.generate_ms == 0.0
    assert timing.time_to_first_token_ms == 0.0
    assert timing.total_ms >= timing.embed_ms + timing.retrieve_ms


def test_timing_in_base_mode() -> None:
    fake = FakeStages(hits=[], pieces=["a"], delay_s=0.01)
    _, _, final = _split(_run(replace(PARAMS, mode="base"), fake))
    timing = final.timing
    assert timing.total_ms >= timing.generate_ms >= 0
    assert timing.generate_ms >= 10.0
    assert 0 < timing.time_to_first_token_ms <= timing.generate_ms


def test_empty_generation_gives_an_empty_answer() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=[])
    events = _run(PARAMS, fake)
    citations, tokens, final = _split(events)
    assert citations.grounded
    assert tokens == []
    assert final.answer == ""
    assert final.timing.time_to_first_token_ms == 0.0


def test_adapter_modes_generate_through_the_adapter() -> None:
    for mode, calls in (
        ("adapter", ["generate"]),
        ("rag+adapter", ["describe", "embed", "retrieve", "generate"]),
    ):
        fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["ok"])
        citations, _, _ = _split(_run(replace(PARAMS, mode=mode, adapter="tone"), fake))
        assert fake.calls == calls
        assert fake.adapters == ["tone"]
        assert (citations.mode, citations.adapter) == (mode, "tone")
        prompt = "".join(m["content"] for m in fake.generate_args[0][0])
        assert ("<context>" in prompt) == (mode == "rag+adapter")


def test_rewrite_searches_for_the_rewritten_query_but_prompts_with_the_question() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["ok"], delay_s=0.01)
    citations, _, final = _split(_run(replace(PARAMS, rewrite_adapter="rw"), fake))
    assert fake.calls == ["describe", "rewrite:rw", "embed", "retrieve", "generate"]
    assert fake.retrieve_args[0][2] == "rewritten query"
    assert citations.rewritten_question == "rewritten query"
    assert final.timing.rewrite_ms >= 10.0 * 0.9
    messages = fake.generate_args[0][0]
    assert messages[-1]["content"].endswith("Question: How many leave days?")


def test_a_rewrite_that_changes_nothing_is_not_reported() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9)], pieces=["ok"], rewritten="How many leave days?")
    citations, _, _ = _split(_run(replace(PARAMS, rewrite_adapter="rw"), fake))
    assert citations.rewritten_question == ""


def test_rerank_retrieves_candidates_and_keeps_the_reranked_top_k() -> None:
    hits = [_hit(n, 0.9 - n / 100) for n in range(1, 11)]
    fake = FakeStages(hits=hits, pieces=["ok"], delay_s=0.01)
    params = replace(PARAMS, top_k=3, rerank_adapter="rr", rerank_candidates=10)
    citations, _, final = _split(_run(params, fake))
    assert fake.retrieve_args[0][3] == 10  # candidates, not top_k
    assert fake.rerank_args[0][1] == hits
    assert [h.document_id for h in citations.hits] == ["doc-10", "doc-9", "doc-8"]
    assert citations.reranked
    assert final.timing.rerank_ms >= 10.0 * 0.9


def test_rerank_is_skipped_when_nothing_clears_the_threshold() -> None:
    fake = FakeStages(hits=[_hit(1, 0.1)], pieces=["must not appear"])
    params = replace(PARAMS, rerank_adapter="rr", rerank_candidates=10)
    citations, _, _ = _split(_run(params, fake))
    assert "rerank:rr" not in fake.calls
    assert not citations.reranked and not citations.grounded


def test_rerank_judges_the_question_asked_not_the_rewritten_query() -> None:
    fake = FakeStages(hits=[_hit(1, 0.9), _hit(2, 0.8)], pieces=["ok"])
    params = replace(PARAMS, rewrite_adapter="rw", rerank_adapter="rr", rerank_candidates=5)
    _run(params, fake)
    assert fake.retrieve_args[0][2] == "rewritten query"
    assert fake.rerank_args[0][0].strip() == "How many leave days?"
