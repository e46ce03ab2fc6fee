"""Cross-encoder re-rankers: an encoder model with a relevance head, one LoRA adapter each.

A rerank adapter (trained by `ragtune train --purpose rerank`) is a PEFT adapter over an
encoder such as the packaged all-MiniLM-L6-v2: LoRA on its attention plus its own relevance
head. Adapters of one base model share that model in memory; each score call runs through one
adapter, one call at a time per engine.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragtune_serving.engines.base import AdapterNotLoaded
from ragtune_serving.engines.lora import ADAPTER_CONFIG, AdapterLoadError, slot_name
from ragtune_serving.models import resolve_model

logger = logging.getLogger(__name__)
MAX_PAIR_TOKENS = 512
SCORE_BATCH = 32


class CrossEncoderReranker:
    """Rerank adapters by name, each over its base encoder (loaded once per base model)."""

    def __init__(self, threads: int = 0) -> None:
        import torch

        torch.set_num_threads(threads or os.cpu_count() or 1)
        self._lock = threading.Lock()
        self._bases: dict[str, tuple[Any, Any]] = {}  # base model → (tokenizer, PeftModel)
        self._adapters: dict[str, tuple[str, str]] = {}  # name → (base model, slot)

    def adapters(self) -> list[str]:
        return sorted(self._adapters)

    def load_adapter(self, name: str, path: str, base_model: str) -> None:
        """Load the rerank adapter saved in `path` (trained over `base_model`) as `name`."""
        if not (Path(path) / ADAPTER_CONFIG).is_file():
            raise AdapterLoadError(
                f"{path} holds no PEFT adapter ({ADAPTER_CONFIG} is missing); point the "
                "adapter at the directory `ragtune train --purpose rerank` wrote"
            )
        from peft import PeftConfig, PeftModel

        config = PeftConfig.from_pretrained(path)
        if config.task_type != "SEQ_CLS":
            raise AdapterLoadError(
                f"{path} holds a {config.task_type} adapter; a rerank adapter is a sequence "
                "classifier (train it with --purpose rerank)"
            )
        with self._lock:
            self._unload(name)
            slot = slot_name(name)
            try:
                if base_model in self._bases:
                    tokenizer, model = self._bases[base_model]
                    model.load_adapter(path, adapter_name=slot, is_trainable=False)
                else:
                    tokenizer, base = _encoder(base_model)
                    model = PeftModel.from_pretrained(base, path, adapter_name=slot)
                    self._bases[base_model] = (tokenizer, model)
            except Exception as error:
                raise AdapterLoadError(
                    f"cannot load the rerank adapter in {path}: {error}"
                ) from error
            model.eval()
            self._adapters[name] = (base_model, slot)
        logger.info("loaded rerank adapter %s from %s", name, path)

    def unload_adapter(self, name: str) -> None:
        """Unload adapter `name` (its base model too, when no other adapter uses it)."""
        with self._lock:
            self._unload(name)

    def _unload(self, name: str) -> None:
        found = self._adapters.pop(name, None)
        if found is None:
            return
        base_model, slot = found
        if not any(base == base_model for base, _ in self._adapters.values()):
            del self._bases[base_model]
            return
        _, model = self._bases[base_model]
        model.delete_adapter(slot)

    def score(self, adapter: str, query: str, passages: Sequence[str]) -> list[float]:
        """Relevance of each passage to `query` in [0, 1], through adapter `adapter` (blocking)."""
        import torch

        with self._lock:
            found = self._adapters.get(adapter)
            if found is None:
                raise AdapterNotLoaded(f"rerank adapter {adapter!r} is not loaded")
            base_model, slot = found
            tokenizer, model = self._bases[base_model]
            model.set_adapter(slot)
            scores: list[float] = []
            for start in range(0, len(passages), SCORE_BATCH):
                batch = list(passages[start : start + SCORE_BATCH])
                encoded = tokenizer(
                    [query] * len(batch),
                    batch,
                    truncation="only_second",
                    max_length=MAX_PAIR_TOKENS,
                    padding=True,
                    return_tensors="pt",
                )
                with torch.inference_mode():
                    logits = model(**encoded).logits[:, 0]
                scores += [1.0 / (1.0 + math.exp(-float(x))) for x in logits]
        return scores


def _encoder(base_model: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    resolved = resolve_model(base_model)
    tokenizer = AutoTokenizer.from_pretrained(resolved.name_or_path)
    model = AutoModelForSequenceClassification.from_pretrained(resolved.name_or_path, num_labels=1)
    return tokenizer, model
