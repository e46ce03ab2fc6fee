"""The generator deployment: one engine, streamed answers through the base model or a LoRA
adapter chosen per request, adapters from its user_config.

Serve calls `reconfigure` with the deployment's `user_config` when a replica starts and whenever
the config changes, without restarting the replica: adapters load, get probed and unload in
place (engines.registry). A bad adapter is reported failed with its reason; it never takes the
replica down.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import ValidationError
from ray import serve

from ragtune_serving import metrics
from ragtune_serving.config import AdaptersUserConfig, GeneratorArgs
from ragtune_serving.engines.adapters import generator_refusal
from ragtune_serving.engines.base import GenerationEngine, Message, SamplingParams, Usage
from ragtune_serving.engines.registry import AdapterRegistry
from ragtune_serving.models import resolve_model
from ragtune_serving.rag.prompting import build_rewrite_messages, rewritten_query
from ragtune_serving.rag.records import AdapterReport
from ragtune_serving.serveconfig import GENERATOR_DEPLOYMENT

logger = logging.getLogger("ray.serve")
PROBE = [{"role": "user", "content": "Say OK."}]
REWRITE_TOKENS = 48


def load_engine(args: GeneratorArgs, torch_threads: int = 0) -> GenerationEngine:
    """The engine `args.engine` names, with its model loaded."""
    from ragtune_serving.engines.transformers_engine import TransformersEngine

    return TransformersEngine(resolve_model(args.model), device=args.device, threads=torch_threads)


@serve.deployment(name=GENERATOR_DEPLOYMENT)
class Generator:
    """Streams text deltas, then one final usage record `{"usage": {...}}`."""

    def __init__(self, args: GeneratorArgs, torch_threads: int = 0) -> None:
        self._engine = load_engine(args, torch_threads)
        engine = self._engine
        self._registry = AdapterRegistry(
            load=lambda name, adapter: engine.load_adapter(name, adapter.path),
            unload=engine.unload_adapter,
            probe=self._probe,
            refuse=lambda name, adapter: generator_refusal(name, adapter, args.model),
            max_loaded=args.max_loaded_adapters,
        )

    async def generate(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        temperature: float,
        adapter: str | None = None,
    ) -> AsyncIterator[str | dict[str, int]]:
        usage = Usage()
        params = SamplingParams(max_tokens=max_tokens, temperature=temperature)
        with metrics.in_flight("Generator"):
            if adapter is None:
                async for text in self._engine.stream(messages, params, usage):
                    yield text
            else:
                async with self._registry.use(adapter, "generation", "adapter"):
                    async for text in self._engine.stream(messages, params, usage, adapter):
                        yield text
        yield {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}

    async def rewrite(self, question: str, adapter: str) -> str:
        """`question` rewritten as a search query by query-rewrite adapter `adapter`."""
        params = SamplingParams(max_tokens=REWRITE_TOKENS, temperature=0.0)
        messages = build_rewrite_messages(question)
        with metrics.in_flight("Generator"):
            async with self._registry.use(adapter, "query-rewrite", "rewrite_adapter"):
                parts = [t async for t in self._engine.stream(messages, params, Usage(), adapter)]
        return rewritten_query("".join(parts), question)

    def model(self) -> str:
        return self._engine.model_label

    async def adapters(self) -> list[AdapterReport]:
        """Every adapter this replica was given and where it stands."""
        return self._registry.reports()

    async def reconfigure(self, config: dict[str, Any]) -> None:
        """Take a new `user_config`: load and probe added or changed adapters, unload removed
        ones."""
        try:
            wanted = AdaptersUserConfig.model_validate(config)
        except ValidationError as error:
            logger.error("generator user_config refused, adapters left as they are: %s", error)
            return
        await self._registry.reconfigure(wanted.adapters)
        logger.info("adapters loaded: %s", ", ".join(self._registry.loaded()) or "none")

    async def _probe(self, name: str) -> None:
        """One short generation through adapter `name`; raises if it fails or yields nothing."""
        usage = Usage()
        params = SamplingParams(max_tokens=2, temperature=0.0)
        async for _ in self._engine.stream(PROBE, params, usage, name):
            pass
        if usage.completion_tokens < 1:
            raise RuntimeError(f"a probe generation through adapter {name!r} produced no token")
