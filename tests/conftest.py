"""Shared by every test tier: models load offline, the golden-file option, a LoRA adapter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.models import resolve_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden files under tests/*/golden/ from the current output",
    )


@pytest.fixture(scope="session")
def tone_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real LoRA adapter for the packaged generator (r=4 on q_proj/v_proj), non-zero weights.

    Made from the model's architecture alone (random base weights): a LoRA adapter's shapes
    depend on the architecture, not on the base weights, and this is ten times faster than
    de-quantizing the GGUF.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    directory = tmp_path_factory.mktemp("adapters") / "tone"
    generator = resolve_model(PACKAGED_GENERATOR)
    config = AutoConfig.from_pretrained(generator.name_or_path, gguf_file=generator.gguf_file)
    torch.manual_seed(7)
    lora = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(AutoModelForCausalLM.from_config(config), lora).save_pretrained(str(directory))
    weights = load_file(directory / "adapter_model.safetensors")
    assert weights and all(t.abs().sum() > 0 for n, t in weights.items() if "lora_B" in n)
    return directory
