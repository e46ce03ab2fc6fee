"""Batched generation on the real packaged model: concurrent requests share forward passes and
answer exactly what each would answer alone (arriving at once or joining a running batch), and
what transformers' own `generate` answers; a client that leaves stops only its own row;
requests through an adapter and through the base model never share a batch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.engines.base import SamplingParams, Usage
from ragtune_serving.engines.transformers_engine import TransformersEngine
from ragtune_serving.models import resolve_model

pytestmark = pytest.mark.integration
QUESTIONS = [
    "What is the capital of France?",
    "Name three colours.",
    "Count from one to five.",
    "What is 2+2?",
    "Say hello in Spanish.",
    "What is water made of?",
    "Name a planet.",
    "What do bees make?",
]
TOKENS = 20


@pytest.fixture(scope="module")
def engine() -> Iterator[TransformersEngine]:
    loaded = TransformersEngine(resolve_model(PACKAGED_GENERATOR), max_batch_size=8)
    yield loaded
    loaded.close()


async def _answer(
    engine: TransformersEngine, question: str, adapter: str | None = None
) -> tuple[str, int]:
    usage = Usage()
    messages = [{"role": "user", "content": question}]
    parts = [
        t async for t in engine.stream(messages, SamplingParams(max_tokens=TOKENS), usage, adapter)
    ]
    return "".join(parts), usage.completion_tokens


def test_concurrent_answers_equal_the_answers_given_one_at_a_time(
    engine: TransformersEngine,
) -> None:
    async def both() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        alone = [await _answer(engine, q) for q in QUESTIONS]
        together = await asyncio.gather(*(_answer(engine, q) for q in QUESTIONS))
        return alone, list(together)

    alone, together = asyncio.run(both())
    assert together == alone
    assert all(text for text, _ in alone) and all(0 < n <= TOKENS for _, n in alone)


def test_batched_greedy_answers_equal_transformers_generate(engine: TransformersEngine) -> None:
    """The engine's own decode loop (its preallocated KV cache, its row dropping) against
    `model.generate` on a separately loaded copy of the model, one prompt at a time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_ref = resolve_model(PACKAGED_GENERATOR)
    tokenizer = AutoTokenizer.from_pretrained(model_ref.name_or_path, gguf_file=model_ref.gguf_file)
    model = AutoModelForCausalLM.from_pretrained(
        model_ref.name_or_path, gguf_file=model_ref.gguf_file, dtype=torch.float32
    ).eval()
    expected = []
    for question in QUESTIONS:
        ids = torch.tensor([engine.prompt_ids([{"role": "user", "content": question}])])
        with torch.inference_mode():
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=TOKENS,
                do_sample=False,
                pad_token_id=tokenizer.eos_token_id,
            )
        expected.append(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))

    async def together() -> list[tuple[str, int]]:
        return list(await asyncio.gather(*(_answer(engine, q) for q in QUESTIONS)))

    answers = [text for text, _ in asyncio.run(together())]
    assert answers == expected


def test_requests_joining_a_running_batch_answer_as_alone(engine: TransformersEngine) -> None:
    """Questions arrive one by one while earlier answers are still being generated: each joins
    the running batch at the step it arrives (continuous batching), prompts shorter and longer
    than the batch's rows so far."""

    async def run() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        alone = [await _answer(engine, q) for q in QUESTIONS]

        async def arrive(i: int, question: str) -> tuple[str, int]:
            await asyncio.sleep(0.3 * i)
            return await _answer(engine, question)

        together = await asyncio.gather(*(arrive(i, q) for i, q in enumerate(QUESTIONS)))
        return alone, list(together)

    alone, together = asyncio.run(run())
    assert together == alone


def test_a_client_leaving_mid_batch_stops_only_its_own_answer(engine: TransformersEngine) -> None:
    async def run() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        alone = [await _answer(engine, q) for q in QUESTIONS[:3]]

        async def leave_after_one_delta() -> None:
            messages = [{"role": "user", "content": QUESTIONS[5]}]
            stream = engine.stream(messages, SamplingParams(max_tokens=TOKENS), Usage())
            await stream.__anext__()
            await stream.aclose()

        results = await asyncio.gather(
            leave_after_one_delta(), *(_answer(engine, q) for q in QUESTIONS[:3])
        )
        return alone, list(results[1:])

    alone, together = asyncio.run(run())
    assert together == alone


def test_adapter_and_base_requests_are_batched_apart_and_answer_as_alone(
    engine: TransformersEngine, format_adapter: Path
) -> None:
    """Half the requests through the JSON-format adapter trained in this session, half through
    the base model, all at once."""
    engine.load_adapter("json", str(format_adapter))
    try:

        async def run() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
            asked = [(q, None if i % 2 else "json") for i, q in enumerate(QUESTIONS[:4])]
            alone = [await _answer(engine, q, a) for q, a in asked]
            together = await asyncio.gather(*(_answer(engine, q, a) for q, a in asked))
            return alone, list(together)

        alone, together = asyncio.run(run())
    finally:
        engine.unload_adapter("json")
    assert together == alone
    assert [text.lstrip().startswith("{") for text, _ in alone] == [True, False, True, False]
