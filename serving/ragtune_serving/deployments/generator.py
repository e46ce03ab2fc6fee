"""The generator deployment: one engine, streamed answers, LoRA adapters from its user_config.

Serve calls `reconfigure` with the deployment's `user_config` when a replica starts and whenever
the config changes, without restarting the replica: adapters load and unload in place. A bad
adapter is skipped with a logged error; it never takes the replica down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import ValidationError
from ray import serve

from ragtune_serving.config import AdapterArgs, GeneratorArgs, GeneratorUserConfig
from ragtune_serving.engines.adapters import plan_adapters
from ragtune_serving.engines.base import GenerationEngine, Message, SamplingParams, Usage
from ragtune_serving.engines.lora import AdapterLoadError
from ragtune_serving.models import resolve_model
from ragtune_serving.serveconfig import GENERATOR_DEPLOYMENT

logger = logging.getLogger("ray.serve")


def load_engine(args: GeneratorArgs, torch_threads: int = 0) -> GenerationEngine:
    """The engine `args.engine` names, with its model loaded."""
    from ragtune_serving.engines.transformers_engine import TransformersEngine

    return TransformersEngine(resolve_model(args.model), device=args.device, threads=torch_threads)


@serve.deployment(name=GENERATOR_DEPLOYMENT)
class Generator:
    """Streams text deltas, then one final usage record `{"usage": {...}}`."""

    def __init__(self, args: GeneratorArgs, torch_threads: int = 0) -> None:
        self._engine = load_engine(args, torch_threads)
        self._base_model = args.model
        self._adapters: dict[str, AdapterArgs] = {}  # loaded, as their user_config said
        self._reconfiguring = asyncio.Lock()

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

    async def adapters(self) -> list[str]:
        """Names of the loaded adapters, sorted."""
        return self._engine.adapters()

    async def reconfigure(self, config: dict[str, Any]) -> None:
        """Take a new `user_config`: load added or changed adapters, unload removed ones."""
        try:
            wanted = GeneratorUserConfig.model_validate(config)
        except ValidationError as error:
            logger.error("generator user_config refused, adapters left as they are: %s", error)
            return
        async with self._reconfiguring:
            plan = plan_adapters(self._adapters, wanted.adapters, self._base_model)
            for name in plan.unload:
                del self._adapters[name]
                try:
                    await asyncio.to_thread(self._engine.unload_adapter, name)
                except Exception:
                    logger.exception("unloading adapter %s failed", name)
            for name, reason in plan.refused:
                logger.error("adapter %s skipped: %s", name, reason)
            for name, adapter in plan.load:
                try:
                    await asyncio.to_thread(self._engine.load_adapter, name, adapter.path)
                except Exception as error:
                    unexpected = not isinstance(error, AdapterLoadError)
                    logger.error("adapter %s skipped: %s", name, error, exc_info=unexpected)
                    continue
                self._adapters[name] = adapter
        logger.info("adapters loaded: %s", ", ".join(self._engine.adapters()) or "none")
