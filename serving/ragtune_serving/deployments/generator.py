"""The generator deployment: one engine, streamed answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from ray import serve

from ragtune_serving.config import GeneratorArgs
from ragtune_serving.engines.base import GenerationEngine, Message, SamplingParams, Usage
from ragtune_serving.models import resolve_model

logger = logging.getLogger("ray.serve")


def load_engine(args: GeneratorArgs, torch_threads: int = 0) -> GenerationEngine:
    """The engine `args.engine` names, with its model loaded."""
    from ragtune_serving.engines.transformers_engine import TransformersEngine

    return TransformersEngine(resolve_model(args.model), device=args.device, threads=torch_threads)


@serve.deployment(name="Generator")
class Generator:
    """Streams text deltas, then one final usage record `{"usage": {...}}`."""

    def __init__(self, args: GeneratorArgs, torch_threads: int = 0) -> None:
        self._engine = load_engine(args, torch_threads)

    async def generate(
        self, messages: Sequence[Message], max_tokens: int, temperature: float
    ) -> AsyncIterator[str | dict[str, int]]:
        usage = Usage()
        params = SamplingParams(max_tokens=max_tokens, temperature=temperature)
        async for text in self._engine.stream(messages, params, usage):
            yield text
        yield {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}

    def model(self) -> str:
        return self._engine.model_label
