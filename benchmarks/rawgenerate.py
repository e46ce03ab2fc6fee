"""Plain `model.generate` on the packaged generator, one prompt at a time: the peer every
generation figure is compared with."""

from __future__ import annotations

import time
from typing import Any

from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.models import resolve_model


class RawGenerate:
    """The packaged generator loaded as a user of transformers would, greedy decoding."""

    def __init__(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_ref = resolve_model(PACKAGED_GENERATOR)
        self._tokenizer = AutoTokenizer.from_pretrained(
            model_ref.name_or_path, gguf_file=model_ref.gguf_file
        )
        self._model = AutoModelForCausalLM.from_pretrained(
            model_ref.name_or_path, gguf_file=model_ref.gguf_file, dtype=torch.float32
        ).eval()

    def answer(self, messages: list[dict[str, Any]], tokens: int) -> tuple[int, float]:
        """(new tokens, seconds) of one answer to chat `messages`, at most `tokens` long."""
        import torch

        ids = self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
        started = time.perf_counter()
        with torch.inference_mode():
            out = self._model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=tokens,
                do_sample=False,
                pad_token_id=self._tokenizer.eos_token_id,
            )
        return int(out.shape[1] - ids.shape[1]), time.perf_counter() - started
