"""Generation with TensorRT-LLM's LLM API, on NVIDIA GPUs: in-flight batching, paged KV cache,
LoRA adapters per request.

Written against TensorRT-LLM's documented LLM API (`LLM`, `SamplingParams`, `KvCacheConfig`,
`LoraConfig`, `LoRARequest`, `LLM.generate_async(..., streaming=True)`); it has not run on
real TensorRT-LLM here. What is ours — sampling settings, LoRA request mapping, assembling a
stream of cumulative outputs into text deltas — is pure and tested (against a stand-in of the
library named as such in tests/unit/test_tensorrt_engine.py).

Prompts are formatted with the model's own chat template (transformers' tokenizer) and sent as
token ids, so every engine answers the same prompt.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtune_serving.config import GeneratorArgs
from ragtune_serving.engines.base import (
    AdapterNotLoaded,
    Message,
    SamplingParams,
    Usage,
    chat_prompt_ids,
)
from ragtune_serving.engines.selection import GPU_EXTRA, EngineUnavailable
from ragtune_serving.models import ResolvedModel

logger = logging.getLogger(__name__)
# LoraConfig moved between releases; the first module that has it is used.
LORA_CONFIG_MODULES = ("tensorrt_llm.lora_helper", "tensorrt_llm.lora_manager")
LORA_REQUEST_MODULES = ("tensorrt_llm.executor.request", "tensorrt_llm.executor")


def importable() -> bool:
    """Whether TensorRT-LLM can be imported here (without importing it)."""
    return importlib.util.find_spec("tensorrt_llm") is not None


def sampling_kwargs(params: SamplingParams) -> dict[str, Any]:
    """TensorRT-LLM SamplingParams keywords for ours: greedy is top-1 sampling."""
    if params.temperature <= 0:
        return {"max_tokens": params.max_tokens, "top_k": 1}
    return {
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
    }


@dataclass(frozen=True, slots=True)
class LoraSlot:
    """A loaded adapter as TensorRT-LLM knows it: a unique integer id and its directory. A
    reload gets a new id, so the library never serves a cached copy of the old weights."""

    name: str
    lora_id: int
    path: str


class LoraTable:
    """Adapter name → LoraSlot, ids never reused."""

    def __init__(self) -> None:
        self._slots: dict[str, LoraSlot] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, name: str, path: str) -> LoraSlot:
        if not (Path(path) / "adapter_config.json").is_file():
            raise ValueError(f"{path} holds no PEFT adapter (adapter_config.json is missing)")
        with self._lock:
            slot = LoraSlot(name, next(self._ids), path)
            self._slots[name] = slot
            return slot

    def remove(self, name: str) -> None:
        with self._lock:
            self._slots.pop(name, None)

    def get(self, name: str) -> LoraSlot:
        with self._lock:
            slot = self._slots.get(name)
        if slot is None:
            raise AdapterNotLoaded(f"adapter {name!r} is not loaded on this replica")
        return slot

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._slots)


class StreamAssembler:
    """TensorRT-LLM streams cumulative outputs (all text so far); clients want deltas."""

    def __init__(self) -> None:
        self._text = ""
        self.completion_tokens = 0

    def update(self, text: str, token_ids: Sequence[int]) -> str:
        """The new text since the last update (empty when only a partial character came)."""
        self.completion_tokens = len(token_ids)
        if not text.startswith(self._text):  # a re-decoded tail: send what is new from here
            common = _common_prefix(self._text, text)
            self._text = text[:common]
        delta = text[len(self._text) :]
        self._text = text
        return delta


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _first(modules: Sequence[str], name: str) -> Any:
    for module in modules:
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if found is not None:
            return found
    raise EngineUnavailable(f"this TensorRT-LLM has no {name} in {', '.join(modules)}")


class TensorRTLLMEngine:
    """One model served by TensorRT-LLM (a Hugging Face directory, or a prebuilt engine
    directory), with LoRA adapters chosen per request."""

    def __init__(self, model: ResolvedModel, args: GeneratorArgs) -> None:
        if model.gguf_file:
            raise EngineUnavailable(
                "TensorRT-LLM loads Hugging Face model directories and engine directories, not "
                ".gguf files: point generator.model at one, or use engine transformers"
            )
        try:
            trtllm = importlib.import_module("tensorrt_llm")
            llmapi = importlib.import_module("tensorrt_llm.llmapi")
        except ImportError as error:
            raise EngineUnavailable(
                f"TensorRT-LLM is not importable ({error}): install the optional extra "
                f"{GPU_EXTRA} (the serving image has it)"
            ) from error
        from transformers import AutoTokenizer

        self._trtllm = trtllm
        self._lora_request = _first(LORA_REQUEST_MODULES, "LoRARequest")
        lora_config = _first(LORA_CONFIG_MODULES, "LoraConfig")(
            lora_dir=[],
            max_lora_rank=args.max_lora_rank,
            max_loras=args.max_loaded_adapters,
            max_cpu_loras=args.max_loaded_adapters,
        )
        self._tokenizer = AutoTokenizer.from_pretrained(model.name_or_path)
        self._llm = trtllm.LLM(
            model=model.name_or_path,
            max_batch_size=args.max_batch_size,
            kv_cache_config=llmapi.KvCacheConfig(
                free_gpu_memory_fraction=args.kv_cache_memory_fraction
            ),
            lora_config=lora_config,
        )
        self._label = model.label
        self._adapters = LoraTable()
        logger.info(
            "loaded %s with TensorRT-LLM %s", self._label, getattr(trtllm, "__version__", "?")
        )

    @property
    def model_label(self) -> str:
        return self._label

    def load_adapter(self, name: str, path: str) -> None:
        """Register adapter `name`; TensorRT-LLM loads its weights with the first request that
        names it (the registry's probe is that request, so a bad adapter fails there)."""
        self._adapters.add(name, path)

    def unload_adapter(self, name: str) -> None:
        self._adapters.remove(name)

    def adapters(self) -> list[str]:
        return self._adapters.names()

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        return chat_prompt_ids(self._tokenizer, messages)

    async def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        usage: Usage,
        adapter: str | None = None,
    ) -> AsyncIterator[str]:
        lora = None
        if adapter is not None:
            slot = self._adapters.get(adapter)
            lora = self._lora_request(slot.name, slot.lora_id, slot.path)
        prompt = self.prompt_ids(messages)
        usage.prompt_tokens = len(prompt)
        sampling = self._trtllm.SamplingParams(**sampling_kwargs(params))
        assembler = StreamAssembler()
        outputs = self._llm.generate_async(prompt, sampling, streaming=True, lora_request=lora)
        try:
            async for output in outputs:
                completion = output.outputs[0]
                delta = assembler.update(completion.text, completion.token_ids)
                if delta:
                    yield delta
        finally:
            if hasattr(outputs, "abort") and not getattr(outputs, "finished", True):
                outputs.abort()  # the client left: free its slot in the batch
        usage.completion_tokens = assembler.completion_tokens
