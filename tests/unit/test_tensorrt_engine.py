"""The TensorRT-LLM engine's own logic, against a STAND-IN for the `tensorrt_llm` package.

TensorRT-LLM cannot be installed here (no GPU; the package is GBs). The stand-in below is not
TensorRT-LLM: it records what the engine hands the documented LLM API (constructor settings,
SamplingParams, LoRARequest) and plays back cumulative streamed outputs as the API documents
them. What is tested is our translation — settings, sampling, LoRA request mapping, stream
assembly, errors — not TensorRT-LLM itself.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ragtune_serving.config import PACKAGED_GENERATOR, GeneratorArgs
from ragtune_serving.engines import tensorrt_engine
from ragtune_serving.engines.base import AdapterNotLoaded, SamplingParams, Usage
from ragtune_serving.engines.selection import EngineUnavailable
from ragtune_serving.models import ResolvedModel, resolve_model


@dataclass
class _Record:
    """What the stand-in was given."""

    llm: dict[str, Any] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)


def _stand_in(record: _Record, chunks: list[tuple[str, list[int]]]) -> dict[str, types.ModuleType]:
    """Modules named as TensorRT-LLM's, holding recording stand-ins of its documented API."""

    class Kwargs:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.args, self.kwargs = args, kwargs

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            record.llm = kwargs

        def generate_async(self, prompt: Any, sampling: Any, **kwargs: Any) -> Any:
            record.calls.append({"prompt": prompt, "sampling": sampling.kwargs, **kwargs})

            class Outputs:
                finished = False
                aborted = False

                def __aiter__(self) -> AsyncIterator[Any]:
                    return self._run()

                async def _run(self) -> AsyncIterator[Any]:
                    for text, ids in chunks:
                        yield types.SimpleNamespace(
                            outputs=[types.SimpleNamespace(text=text, token_ids=ids)]
                        )
                    self.finished = True

                def abort(self) -> None:
                    self.aborted = True
                    record.calls[-1]["aborted"] = True

            return Outputs()

    root = types.ModuleType("tensorrt_llm")
    root.LLM = LLM  # type: ignore[attr-defined]
    root.SamplingParams = Kwargs  # type: ignore[attr-defined]
    llmapi = types.ModuleType("tensorrt_llm.llmapi")
    llmapi.KvCacheConfig = Kwargs  # type: ignore[attr-defined]
    lora_helper = types.ModuleType("tensorrt_llm.lora_helper")
    lora_helper.LoraConfig = Kwargs  # type: ignore[attr-defined]
    executor = types.ModuleType("tensorrt_llm.executor.request")
    executor.LoRARequest = Kwargs  # type: ignore[attr-defined]
    return {
        "tensorrt_llm": root,
        "tensorrt_llm.llmapi": llmapi,
        "tensorrt_llm.lora_helper": lora_helper,
        "tensorrt_llm.executor.request": executor,
    }


@pytest.fixture(scope="module")
def hf_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face model directory with the packaged generator's real tokenizer (and its
    chat template): TensorRT-LLM takes directories, not .gguf files."""
    from transformers import AutoTokenizer

    packaged = resolve_model(PACKAGED_GENERATOR)
    directory = tmp_path_factory.mktemp("hf-model")
    tokenizer = AutoTokenizer.from_pretrained(packaged.name_or_path, gguf_file=packaged.gguf_file)
    tokenizer.save_pretrained(directory)
    return directory


CHUNKS = [
    ("The", [1]),
    ("The cap", [1, 2]),
    ("The capital", [1, 2, 3]),
    ("The capital.", [1, 2, 3, 4]),
]


@pytest.fixture
def engine(hf_model_dir: Path) -> Iterator[tuple[tensorrt_engine.TensorRTLLMEngine, _Record]]:
    record = _Record()
    modules = _stand_in(record, CHUNKS)
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        args = GeneratorArgs(max_batch_size=16, kv_cache_memory_fraction=0.5, max_lora_rank=32)
        yield tensorrt_engine.TensorRTLLMEngine(ResolvedModel(str(hf_model_dir)), args), record
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _run(engine: Any, adapter: str | None = None, temperature: float = 0.0) -> tuple[str, Usage]:
    async def go() -> tuple[str, Usage]:
        usage = Usage()
        messages = [{"role": "user", "content": "Capital?"}]
        params = SamplingParams(max_tokens=12, temperature=temperature, top_p=0.9)
        parts = [t async for t in engine.stream(messages, params, usage, adapter)]
        return "|".join(parts), usage

    return asyncio.run(go())


def test_settings_from_the_knowledge_base_reach_the_llm(engine: Any) -> None:
    _, record = engine
    assert record.llm["max_batch_size"] == 16
    assert record.llm["kv_cache_config"].kwargs == {"free_gpu_memory_fraction": 0.5}
    lora = record.llm["lora_config"].kwargs
    assert (lora["max_lora_rank"], lora["max_loras"]) == (32, GeneratorArgs().max_loaded_adapters)


def test_cumulative_outputs_become_deltas_and_usage(engine: Any) -> None:
    trt, record = engine
    text, usage = _run(trt)
    assert text == "The| cap|ital|."
    assert usage.completion_tokens == 4 and usage.prompt_tokens > 5
    (call,) = record.calls
    assert call["streaming"] is True and call["lora_request"] is None
    assert call["sampling"] == {"max_tokens": 12, "top_k": 1}  # greedy
    # the prompt is the model's chat template, as token ids
    assert call["prompt"] == trt.prompt_ids([{"role": "user", "content": "Capital?"}])


def test_sampling_settings_map_to_the_llm_api() -> None:
    assert tensorrt_engine.sampling_kwargs(SamplingParams(8, 0.7, 0.9)) == {
        "max_tokens": 8,
        "temperature": 0.7,
        "top_p": 0.9,
    }


def test_adapters_map_to_lora_requests_with_ids_never_reused(engine: Any, tmp_path: Path) -> None:
    trt, record = engine
    tone = tmp_path / "tone"
    tone.mkdir()
    (tone / "adapter_config.json").write_text("{}")
    trt.load_adapter("tone", str(tone))
    _run(trt, adapter="tone")
    first = record.calls[-1]["lora_request"].args
    assert first == ("tone", 1, str(tone))
    trt.load_adapter("tone", str(tone))  # reloaded: a new id, so no stale cached weights
    _run(trt, adapter="tone")
    assert record.calls[-1]["lora_request"].args == ("tone", 2, str(tone))
    assert trt.adapters() == ["tone"]
    trt.unload_adapter("tone")
    with pytest.raises(AdapterNotLoaded):
        _run(trt, adapter="tone")
    with pytest.raises(ValueError, match=r"adapter_config\.json"):
        trt.load_adapter("empty", str(tmp_path))


def test_a_client_that_leaves_aborts_its_request(engine: Any) -> None:
    trt, record = engine

    async def leave_early() -> None:
        stream = trt.stream([{"role": "user", "content": "x"}], SamplingParams(4), Usage())
        await stream.__anext__()
        await stream.aclose()

    asyncio.run(leave_early())
    assert record.calls[-1].get("aborted") is True


def test_a_gguf_model_or_a_missing_library_is_refused_naming_the_fix(hf_model_dir: Path) -> None:
    with pytest.raises(EngineUnavailable, match=r"not \.gguf files"):
        tensorrt_engine.TensorRTLLMEngine(ResolvedModel("x", gguf_file="m.gguf"), GeneratorArgs())
    assert "tensorrt_llm" not in sys.modules  # the real library is not installed here
    with pytest.raises(EngineUnavailable, match=r"install the optional extra ragtune\[gpu\]"):
        tensorrt_engine.TensorRTLLMEngine(ResolvedModel(str(hf_model_dir)), GeneratorArgs())
