"""Unit-tier fixtures: a small random llama for the decoding tests."""

from __future__ import annotations

from typing import Any

import pytest

TINY_LLAMA_LAYERS = 2


@pytest.fixture(scope="session")
def tiny_llama() -> Any:
    """A 2-layer llama of random weights (grouped-query attention), in eval mode."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=TINY_LLAMA_LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    return LlamaForCausalLM(config).eval()
