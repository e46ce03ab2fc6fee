"""The preallocated KV cache gives the logits transformers' DynamicCache gives, through prefill,
decode steps and rows leaving the batch; and refuses to grow past its capacity."""

from __future__ import annotations

import pytest
import torch
from transformers import DynamicCache, LlamaForCausalLM

from ragtune_serving.engines.kvcache import preallocated_cache

LAYERS = 2  # tiny_llama's


def _cache_arg(model: LlamaForCausalLM) -> str:
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _decode(model: LlamaForCausalLM, cache: object, steps: int, drop_at: int) -> list[torch.Tensor]:
    """Greedy steps over a left-padded batch of 3; after `drop_at` steps row 1 leaves."""
    ids = torch.tensor([[0, 0, 5, 6, 7], [8, 9, 10, 11, 12], [0, 13, 14, 15, 16]])
    mask = (ids != 0).long()
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    argument = {_cache_arg(model): cache}
    seen: list[torch.Tensor] = []
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, **argument)
        following = positions[:, -1:] + 1
        for step in range(steps):
            last = logits.logits[:, -1, :]
            seen.append(last.clone())
            tokens = last.argmax(-1)
            if step == drop_at:
                keep = torch.tensor([0, 2])
                cache.batch_select_indices(keep)  # type: ignore[attr-defined]
                tokens, mask, following = tokens[keep], mask[keep], following[keep]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
            logits = model(
                input_ids=tokens[:, None], attention_mask=mask, position_ids=following, **argument
            )
            following = following + 1
    return seen


def test_logits_equal_the_dynamic_cache_ones_while_rows_leave(tiny_llama: LlamaForCausalLM) -> None:
    expected = _decode(tiny_llama, DynamicCache(), steps=6, drop_at=2)
    actual = _decode(tiny_llama, preallocated_cache(LAYERS, 5 + 6), steps=6, drop_at=2)
    assert [t.shape for t in actual] == [t.shape for t in expected]
    for ours, theirs in zip(actual, expected, strict=True):
        torch.testing.assert_close(ours, theirs)


def test_a_cache_refuses_more_tokens_than_it_holds(tiny_llama: LlamaForCausalLM) -> None:
    with pytest.raises(ValueError, match="holds 7 tokens; 8 asked for"):
        _decode(tiny_llama, preallocated_cache(LAYERS, 7), steps=4, drop_at=99)
