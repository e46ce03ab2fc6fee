"""LoRA adapters on the transformers engine: they load and unload in place, bad ones are refused,
and base generation stays exactly what it was (the packaged SmolLM2, de-quantized from GGUF)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.engines.base import SamplingParams, Usage
from ragtune_serving.engines.lora import AdapterLoadError
from ragtune_serving.engines.transformers_engine import TransformersEngine
from ragtune_serving.models import resolve_model

pytestmark = pytest.mark.integration
MESSAGES = [{"role": "user", "content": "Name three colours of the rainbow."}]


@pytest.fixture(scope="module")
def engine() -> Iterator[TransformersEngine]:
    yield TransformersEngine(resolve_model(PACKAGED_GENERATOR), device="cpu", threads=2)


def _greedy(engine: TransformersEngine) -> str:
    async def collect() -> str:
        params = SamplingParams(max_tokens=24, temperature=0.0)
        return "".join([text async for text in engine.stream(MESSAGES, params, Usage())])

    return asyncio.run(collect())


def _edited_copy(source: Path, target: Path, **config: object) -> Path:
    shutil.copytree(source, target)
    path = target / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return target


def test_loading_an_adapter_leaves_base_generation_unchanged(
    engine: TransformersEngine, tone_adapter: Path
) -> None:
    before = _greedy(engine)
    assert before.strip()
    engine.load_adapter("tone", str(tone_adapter))
    engine.load_adapter("tone.v2", str(tone_adapter))  # Kubernetes names may hold dots
    try:
        assert engine.adapters() == ["tone", "tone.v2"]
        assert _greedy(engine) == before
        engine.load_adapter("tone", str(tone_adapter))  # loading again replaces it
        assert engine.adapters() == ["tone", "tone.v2"]
    finally:
        engine.unload_adapter("tone")
        engine.unload_adapter("tone.v2")
    assert engine.adapters() == []
    assert _greedy(engine) == before


def test_adapters_that_do_not_fit_are_refused_and_leave_nothing_behind(
    engine: TransformersEngine, tone_adapter: Path, tmp_path: Path
) -> None:
    before = _greedy(engine)
    cases = {
        "missing": (tmp_path / "nowhere", "adapter_config.json is missing"),
        "other-layers": (
            _edited_copy(tone_adapter, tmp_path / "gpt2", target_modules=["c_attn"]),
            "c_attn",
        ),
        "other-rank": (_edited_copy(tone_adapter, tmp_path / "r8", r=8), "size mismatch"),
    }
    for name, (path, reason) in cases.items():
        with pytest.raises(AdapterLoadError, match=reason):
            engine.load_adapter(name, str(path))
    assert engine.adapters() == []
    assert _greedy(engine) == before
    engine.unload_adapter("never-loaded")  # a no-op, not an error
