"""The embedder deployment: sentence-transformers, with dynamic batching of questions."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence

from ray import serve

from ragtune_serving import metrics
from ragtune_serving.config import EmbeddingArgs
from ragtune_serving.models import resolve_model
from ragtune_serving.rag.chunking import TokenSpan

logger = logging.getLogger("ray.serve")
DOCUMENT_BATCH = 64


@serve.deployment(name="Embedder")
class Embedder:
    """Embeds questions (batched across concurrent requests) and chunks (in bulk)."""

    def __init__(self, args: EmbeddingArgs, torch_threads: int = 0) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        # Ray starts replicas with OMP_NUM_THREADS=1; give torch the threads asked for.
        torch.set_num_threads(torch_threads or os.cpu_count() or 1)
        resolved = resolve_model(args.model)
        self._model = SentenceTransformer(resolved.name_or_path, device="cpu")
        self._tokenizer = self._model.tokenizer
        self._dim = int(self._model.get_embedding_dimension())
        self._label = args.model
        self.embed_query.set_max_batch_size(args.max_batch_size)
        self.embed_query.set_batch_wait_timeout_s(args.batch_wait_timeout_s)
        logger.info("embedder %s ready, dim %d", resolved.label, self._dim)

    def info(self) -> dict[str, object]:
        """The model name and vector dimension."""
        return {"model": self._label, "dim": self._dim}

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.003)  # type: ignore[untyped-decorator]
    async def embed_query(self, questions: list[str]) -> list[list[float]]:
        """One vector per question; concurrent calls share one forward pass."""
        with metrics.in_flight("Embedder"):
            return await asyncio.to_thread(self._encode, questions)

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per chunk text, encoded in bulk."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), DOCUMENT_BATCH):
            vectors += await asyncio.to_thread(self._encode, texts[start : start + DOCUMENT_BATCH])
        return vectors

    def token_spans(self, texts: Sequence[str]) -> list[list[TokenSpan]]:
        """Character spans of the model's tokens in each text, for token-bounded chunking."""
        encoded = self._tokenizer(
            list(texts), add_special_tokens=False, return_offsets_mapping=True, truncation=False
        )
        return [[(int(s), int(e)) for s, e in offsets] for offsets in encoded["offset_mapping"]]

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        array = self._model.encode(
            list(texts), batch_size=DOCUMENT_BATCH, normalize_embeddings=True, convert_to_numpy=True
        )
        return [row.tolist() for row in array]
