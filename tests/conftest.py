"""Shared by every test tier: models load offline, the golden-file option, LoRA adapters (one
made from the architecture alone, and three trained for real by `ragtune train`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.models import resolve_model

DATA = Path(__file__).parent / "data"
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


def train(data: Path, out: Path, *options: str) -> Path:
    """Run `ragtune train` as a user would, and return the adapter directory it wrote."""
    command = [sys.executable, "-m", "ragtune_serving.cli", "train", "--data", str(data)]
    result = subprocess.run(
        [*command, "--out", str(out), *options], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "adapter_config.json").is_file() and (out / "training_metrics.json").is_file()
    return out


@pytest.fixture(scope="session")
def format_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Answers as {"answer": ..., "sources": [...]}: trained on tests/data/format/train.jsonl."""
    out = tmp_path_factory.mktemp("trained") / "json-format"
    return train(DATA / "format" / "train.jsonl", out, "--epochs", "3")


@pytest.fixture(scope="session")
def rewrite_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rewrites internal codenames into the system names the documents use."""
    out = tmp_path_factory.mktemp("trained") / "codenames-rewrite"
    data = DATA / "retrieval" / "rewrite-train.jsonl"
    return train(
        data, out, "--purpose", "query-rewrite", "--epochs", "6", "--learning-rate", "0.002"
    )


@pytest.fixture(scope="session")
def rerank_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cross-encoder over the packaged MiniLM that knows which system each codename names."""
    out = tmp_path_factory.mktemp("trained") / "codenames-rerank"
    data = DATA / "retrieval" / "rerank-train.jsonl"
    return train(
        data,
        out,
        "--purpose",
        "rerank",
        "--epochs",
        "10",
        "--learning-rate",
        "0.003",
        "--batch-size",
        "16",
    )
