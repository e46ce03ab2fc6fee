"""Generation with Hugging Face transformers, on CPU or a CUDA device, streamed token by token.

LoRA adapters load and unload while the engine serves (engines.lora), and each generation runs
through the adapter it names, or through the base model. A keyed shared/exclusive lock keeps an
adapter change from rewiring layers mid-forward, and lets generations through one adapter run
together while those through another wait their turn.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ragtune_serving.engines import lora
from ragtune_serving.engines.base import AdapterNotLoaded, Message, SamplingParams, Usage
from ragtune_serving.engines.locking import SharedExclusiveLock
from ragtune_serving.models import ResolvedModel

logger = logging.getLogger(__name__)


class TransformersEngine:
    """One causal LM loaded with `from_pretrained` (GGUF files de-quantized on load), plus the
    LoRA adapters loaded onto it."""

    def __init__(self, model: ResolvedModel, *, device: str = "auto", threads: int = 0) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        # Ray starts replicas with OMP_NUM_THREADS=1; give torch the threads asked for.
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self._device = _pick_device(device)
        kwargs: dict[str, Any] = {}
        if model.gguf_file:
            kwargs["gguf_file"] = model.gguf_file
        self._tokenizer = AutoTokenizer.from_pretrained(model.name_or_path, **kwargs)
        dtype = torch.bfloat16 if self._device == "cuda" else torch.float32
        self._model = AutoModelForCausalLM.from_pretrained(
            model.name_or_path, dtype=dtype, **kwargs
        ).to(self._device)
        self._model.eval()
        self._label = model.label
        self._lock = SharedExclusiveLock()
        self._switching = threading.Lock()  # holders under one key race to switch once
        self._slots: dict[str, str] = {}  # adapter name → its name inside PEFT
        self._active: str | None = None  # the slot the layers apply now; None: base model
        logger.info("loaded %s on %s", self._label, self._device)

    @property
    def model_label(self) -> str:
        return self._label

    def load_adapter(self, name: str, path: str) -> None:
        """Load the PEFT LoRA adapter saved in `path` as `name`, replacing one of that name.

        Blocks until running generations finish. Raises lora.AdapterLoadError if `path` does
        not hold a LoRA adapter that fits this model; base generation is unchanged either way.
        """
        with self._lock.exclusive():
            previous = self._slots.pop(name, None)
            if previous is not None:
                lora.detach(self._model, previous)
            slot = lora.slot_name(name)
            self._active = None  # attach leaves every adapter layer switched off
            lora.attach(self._model, slot, path)
            self._slots[name] = slot
        logger.info("loaded adapter %s from %s", name, path)

    def unload_adapter(self, name: str) -> None:
        """Unload adapter `name`; nothing happens if it is not loaded."""
        with self._lock.exclusive():
            slot = self._slots.pop(name, None)
            if slot is not None:
                lora.detach(self._model, slot)
                lora.switch_off(self._model)
                self._active = None
        logger.info("unloaded adapter %s", name)

    def adapters(self) -> list[str]:
        """Names of the loaded adapters, sorted."""
        return sorted(self._slots)

    def prompt_ids(self, messages: Sequence[Message]) -> Any:
        """Token ids of the chat-formatted prompt, ready for `generate`."""
        encoded = self._tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return encoded["input_ids"].to(self._device)

    async def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        usage: Usage,
        adapter: str | None = None,
    ) -> AsyncIterator[str]:
        import torch
        from transformers import AsyncTextIteratorStreamer

        if adapter is not None and adapter not in self._slots:
            raise AdapterNotLoaded(f"adapter {adapter!r} is not loaded on this replica")
        input_ids = self.prompt_ids(messages)
        usage.prompt_tokens = int(input_ids.shape[1])
        streamer = AsyncTextIteratorStreamer(
            self._tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p}
            if params.temperature > 0
            else {"do_sample": False}
        )
        stop = threading.Event()
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                with self._lock.shared(adapter), torch.inference_mode():
                    self._select(adapter)
                    output = self._model.generate(
                        input_ids,
                        attention_mask=torch.ones_like(input_ids),
                        max_new_tokens=params.max_tokens,
                        streamer=streamer,
                        pad_token_id=self._tokenizer.eos_token_id,
                        stopping_criteria=[_StopOnEvent(stop)],
                        **sampling,
                    )
                result["completion_tokens"] = int(output.shape[1] - input_ids.shape[1])
            except BaseException as error:  # surfaced to the caller below
                result["error"] = error
                streamer.end()

        worker = threading.Thread(target=run, name="generate", daemon=True)
        worker.start()
        try:
            async for text in streamer:
                if text:
                    yield text
        finally:
            stop.set()
            await asyncio.to_thread(worker.join)
        if "error" in result:
            raise RuntimeError(f"generation failed: {result['error']}") from result["error"]
        usage.completion_tokens = result.get("completion_tokens", 0)

    def _select(self, adapter: str | None) -> None:
        """Make the layers apply `adapter` (None: none). Called holding the lock under that key,
        so every other holder runs through the same adapter: switching is safe."""
        slot = None if adapter is None else self._slots.get(adapter)
        if adapter is not None and slot is None:
            raise AdapterNotLoaded(f"adapter {adapter!r} was unloaded before generation began")
        with self._switching:
            if slot != self._active:
                lora.activate(self._model, slot)
                self._active = slot


class _StopOnEvent:
    """Stops `generate` when the client went away (the consumer closed the stream)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
        return self._event.is_set()


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("generator.device is 'cuda' but no CUDA device is visible")
    return device
