"""Unit-tier fixtures: a small random llama for the decoding tests, and the settings every
property-based (hypothesis) test runs under."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

# Deterministic (the same examples every run, no example database written to the checkout) and
# bounded, so the property tests are fast and never flaky; `max_examples` per test may be lower.
settings.register_profile(
    "ragtune", max_examples=200, deadline=None, derandomize=True, database=None
)
settings.load_profile("ragtune")

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
