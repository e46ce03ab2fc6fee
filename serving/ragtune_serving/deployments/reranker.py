"""The reranker deployment: cross-encoder rerank adapters, from its user_config, scoring
(question, chunk) pairs for two-stage retrieval."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from ray import serve

from ragtune_serving import metrics
from ragtune_serving.config import AdaptersUserConfig, RerankerArgs
from ragtune_serving.engines.adapters import reranker_refusal
from ragtune_serving.engines.registry import AdapterRegistry
from ragtune_serving.engines.reranking import CrossEncoderReranker
from ragtune_serving.rag.records import AdapterReport, Hit
from ragtune_serving.serveconfig import RERANKER_DEPLOYMENT

logger = logging.getLogger("ray.serve")
PROBE = ("What is this?", ["A probe passage."])


@serve.deployment(name=RERANKER_DEPLOYMENT)
class Reranker:
    """Orders retrieved chunks by a rerank adapter's relevance score, best first."""

    def __init__(self, args: RerankerArgs, torch_threads: int = 0) -> None:
        self._engine = CrossEncoderReranker(threads=torch_threads)
        engine = self._engine
        self._registry = AdapterRegistry(
            load=lambda name, adapter: engine.load_adapter(name, adapter.path, adapter.base_model),
            unload=engine.unload_adapter,
            probe=self._probe,
            refuse=reranker_refusal,
            max_loaded=args.max_loaded_adapters,
        )

    async def rerank(self, query: str, hits: list[Hit], adapter: str) -> list[Hit]:
        """`hits` ordered by relevance to `query`; each hit's score becomes its rerank score."""
        with metrics.in_flight("Reranker"):
            async with self._registry.use(adapter, "rerank", "rerank_adapter"):
                scores = await asyncio.to_thread(
                    self._engine.score, adapter, query, [hit.text for hit in hits]
                )
        scored = [replace(hit, score=score) for hit, score in zip(hits, scores, strict=True)]
        return sorted(scored, key=lambda hit: hit.score, reverse=True)

    async def adapters(self) -> list[AdapterReport]:
        return self._registry.reports()

    async def reconfigure(self, config: dict[str, Any]) -> None:
        try:
            wanted = AdaptersUserConfig.model_validate(config)
        except ValidationError as error:
            logger.error("reranker user_config refused, adapters left as they are: %s", error)
            return
        await self._registry.reconfigure(wanted.adapters)

    async def _probe(self, name: str) -> None:
        (score,) = await asyncio.to_thread(self._engine.score, name, PROBE[0], PROBE[1])
        if not 0.0 <= score <= 1.0:
            raise RuntimeError(f"a probe through rerank adapter {name!r} scored {score}")
