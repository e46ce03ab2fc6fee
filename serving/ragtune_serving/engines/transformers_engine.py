"""Generation with Hugging Face transformers, on CPU or a CUDA device (bf16, SDPA attention),
streamed token by token. Concurrent requests share forward passes: one generation loop runs
them as a batch that requests join as rows free up and leave as they end (engines.batching,
engines.decoding), each request still streamed on its own.

LoRA adapters load and unload while the engine serves (engines.lora), and each generation runs
through the adapter it names, or through the base model. A batch runs through one adapter; a
shared/exclusive lock keeps an adapter load or unload from rewiring layers mid-batch, and a
waiting load stops new rows from joining, so the batch drains and the load goes ahead.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from ragtune_serving.engines import batching, lora
from ragtune_serving.engines.base import (
    AdapterNotLoaded,
    Message,
    SamplingParams,
    Usage,
    chat_prompt_ids,
)
from ragtune_serving.engines.locking import SharedExclusiveLock
from ragtune_serving.models import ResolvedModel

logger = logging.getLogger(__name__)


class TransformersEngine:
    """One causal LM loaded with `from_pretrained` (GGUF files de-quantized on load), plus the
    LoRA adapters loaded onto it."""

    def __init__(
        self,
        model: ResolvedModel,
        *,
        device: str = "auto",
        threads: int = 0,
        max_batch_size: int = 8,
        batch_wait_s: float = 0.005,
        dtype: str = "auto",
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        # Ray starts replicas with OMP_NUM_THREADS=1; give torch the threads asked for.
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self._device = _pick_device(device)
        kwargs: dict[str, Any] = {}
        if model.gguf_file:
            kwargs["gguf_file"] = model.gguf_file
        self._tokenizer = AutoTokenizer.from_pretrained(model.name_or_path, **kwargs)
        if dtype == "auto":  # bf16 on a GPU, float32 on CPU (where bf16 is slow)
            dtype = "bfloat16" if self._device == "cuda" else "float32"
        torch_dtype = getattr(torch, dtype)
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(
            model.name_or_path, dtype=torch_dtype, attn_implementation="sdpa", **kwargs
        ).to(self._device)
        self._model.eval()
        # transformers renamed the forward's cache argument (past_key_values → cache) in 5.x.
        forward = inspect.signature(self._model.forward).parameters
        self._cache_arg = "cache" if "cache" in forward else "past_key_values"
        self._layers: int = self._model.config.get_text_config().num_hidden_layers
        configured = self._model.generation_config.eos_token_id
        eos = {self._tokenizer.eos_token_id}
        eos |= set(configured if isinstance(configured, list) else [configured])
        self._eos_ids = frozenset(i for i in eos if i is not None)
        self._pad_id: int = self._tokenizer.pad_token_id
        self._waiting = batching.RequestQueue(max_batch_size, batch_wait_s)
        self._loop_lock = threading.Lock()
        self._loop_thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._label = model.label
        self._lock = SharedExclusiveLock()
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

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of the chat-formatted prompt."""
        return chat_prompt_ids(self._tokenizer, messages)

    async def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        usage: Usage,
        adapter: str | None = None,
    ) -> AsyncIterator[str]:
        if adapter is not None and adapter not in self._slots:
            raise AdapterNotLoaded(f"adapter {adapter!r} is not loaded on this replica")
        prompt = self.prompt_ids(messages)
        usage.prompt_tokens = len(prompt)
        loop = asyncio.get_running_loop()
        deltas: asyncio.Queue[str | _End] = asyncio.Queue()

        def put(item: str | _End) -> None:
            loop.call_soon_threadsafe(deltas.put_nowait, item)

        request = batching.Pending(
            prompt, params, adapter, emit=put, on_end=lambda n, error: put(_End(n, error))
        )
        self._start_loop()
        self._waiting.put(request)
        try:
            while not isinstance(item := await deltas.get(), _End):
                yield item
        finally:
            request.cancelled.set()  # a client that left stops its row
        if item.error is not None:
            raise RuntimeError(f"generation failed: {item.error}") from item.error
        usage.completion_tokens = item.completion_tokens

    def close(self) -> None:
        """Stop the generation loop once the rows in hand end (requests still waiting are not
        answered, none joins)."""
        self._closed.set()
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=60)

    def _start_loop(self) -> None:
        with self._loop_lock:
            if self._loop_thread is None:
                self._loop_thread = threading.Thread(
                    target=self._generation_loop, name="generation-loop", daemon=True
                )
                self._loop_thread.start()

    def _generation_loop(self) -> None:
        while not self._closed.is_set():
            batch = self._waiting.take(timeout_s=0.5)
            if batch:
                self._serve(batch)

    def _serve(self, first: list[batching.Pending]) -> None:
        """Run a batch until its last row ends, letting requests of its key join as rows free
        up. Every request in it hears its end, or the error."""
        import torch

        from ragtune_serving.engines.decoding import RunningBatch

        key, adapter, params = first[0].key, first[0].adapter, first[0].params
        rows: list[batching.RowStream] = []
        joining = first
        try:
            with self._lock.shared(adapter), torch.inference_mode():
                self._select(adapter)
                batch = RunningBatch(self._forward, self._layers, self._pad_id, self._device)
                logits = None
                while rows or joining:
                    if joining:
                        logits = self._admit(batch, rows, joining, logits)
                        joining = []
                        if not rows:  # the only ones joining failed
                            continue
                    tokens = _pick(logits, params)
                    for row, token in zip(rows, tokens.tolist(), strict=True):
                        row.push(token)
                    kept = [i for i, row in enumerate(rows) if not row.done]
                    if len(kept) < len(rows):
                        for row in rows:
                            if row.done:
                                row.close()
                        batch.keep(kept)
                        rows, tokens = [rows[i] for i in kept], tokens[kept]
                    room = self._waiting.max_batch_size - len(rows)
                    if room and not self._closed.is_set() and not self._lock.exclusive_waiting:
                        joining = self._waiting.take_joining(key, room)
                    logits = batch.step(tokens) if rows else None
        except BaseException as error:  # every stream still open raises it
            for row in rows:
                row.close(error)
            for request in joining:
                request.on_end(0, error)

    def _admit(
        self,
        batch: Any,
        rows: list[batching.RowStream],
        joining: list[batching.Pending],
        logits: Any,
    ) -> Any:
        """Prefill `joining` into the batch; the logits of every row, old and new. If that fails,
        only the joining requests hear the error; the rows already running go on."""
        import torch

        new = [batching.RowStream(r, self._decode, self._eos_ids) for r in joining]
        room = [row.room_needed for row in rows + new]
        try:
            added = batch.admit([r.prompt for r in joining], room)
        except Exception as error:
            for row in new:
                row.close(error)
            return logits
        rows.extend(new)
        return added if logits is None else torch.cat([logits, added])

    def _forward(self, ids: Any, mask: Any, positions: Any, cache: Any) -> Any:
        """The next-token logits of each row (the vocabulary projection of its last position
        only: a prefill's other positions would cost as much as many decode steps)."""
        logits = self._model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            logits_to_keep=1,
            **{self._cache_arg: cache},
        ).logits
        return logits[:, -1, :]

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=True)
        return text

    def _select(self, adapter: str | None) -> None:
        """Make the layers apply `adapter` (None: none). Called by the generation loop, the only
        thread that generates, holding the lock under that key: no adapter loads meanwhile."""
        slot = None if adapter is None else self._slots.get(adapter)
        if adapter is not None and slot is None:
            raise AdapterNotLoaded(f"adapter {adapter!r} was unloaded before generation began")
        if slot != self._active:
            lora.activate(self._model, slot)
            self._active = slot


@dataclass(frozen=True, slots=True)
class _End:
    """The last item of a stream's queue: completion tokens, or why it failed."""

    completion_tokens: int
    error: BaseException | None


def _pick(logits: Any, params: SamplingParams) -> Any:
    """The next token of each row: greedy, or sampled with temperature and top-p."""
    import torch

    if params.temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        ordered, order = probs.sort(dim=-1, descending=True)
        outside = ordered.cumsum(dim=-1) - ordered > params.top_p  # keeps the most likely one
        ordered = ordered.masked_fill(outside, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, ordered)
    return torch.multinomial(probs, num_samples=1).squeeze(-1)


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("generator.device is 'cuda' but no CUDA device is visible")
    return device
