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
from ragtune_serving.engines import selection
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


def load_engine(args: GeneratorArgs, torch_threads: int = 0) -> tuple[GenerationEngine, str]:
    """The engine `args.engine` asks for (auto: engines.selection), its model loaded, and a
    line saying which engine runs on which device and why (logged, and shown in status)."""
    import torch

    from ragtune_serving.engines import tensorrt_engine

    model = resolve_model(args.model)
    choice = selection.choose(
        args.engine,
        args.device,
        tensorrt_llm=tensorrt_engine.importable(),
        cuda=torch.cuda.is_available(),
        gguf=model.gguf_file is not None,
    )
    described = f"{choice.label} ({choice.reason}): {model.label}"
    logger.info("generator engine: %s", described)
    if choice.engine == "tensorrt-llm":
        return tensorrt_engine.TensorRTLLMEngine(model, args), described
    from ragtune_serving.engines.transformers_engine import TransformersEngine

    engine = TransformersEngine(
        model,
        device=choice.device,
        threads=torch_threads,
        max_batch_size=args.max_batch_size,
        batch_wait_s=args.batch_wait_ms / 1000,
    )
    return engine, described


@serve.deployment(name=GENERATOR_DEPLOYMENT)
class Generator:
    """Streams text deltas, then one final usage record `{"usage": {...}}`."""

    def __init__(self, args: GeneratorArgs, torch_threads: int = 0) -> None:
        self._engine, self._described = load_engine(args, torch_threads)
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

    def engine(self) -> str:
        """Which engine answers, on which device, why, and its model."""
        return self._described

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
