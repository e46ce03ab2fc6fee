"""A running batch whose rows join and leave between steps gives every row the logits it gets
decoded alone, on a small random llama: rows joining with a prompt shorter and longer than the
batch's span so far, rows leaving (and the columns only they used cut), the batch emptying and
starting again."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from transformers import DynamicCache, LlamaForCausalLM

from ragtune_serving.engines.decoding import RunningBatch

LAYERS = 2  # tiny_llama's
PAD = 0


def _forward(model: LlamaForCausalLM) -> Any:
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    def forward(ids: Any, mask: Any, positions: Any, cache: Any) -> Any:
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, **{name: cache})
        return out.logits[:, -1, :]

    return forward


def _alone(model: LlamaForCausalLM, prompt: list[int], steps: int) -> list[torch.Tensor]:
    """The logits of each greedy step of `prompt` decoded alone with transformers' own cache."""
    forward = _forward(model)
    cache = DynamicCache()
    ids = torch.tensor([prompt])
    seen = []
    with torch.inference_mode():
        logits = forward(ids, torch.ones_like(ids), torch.arange(len(prompt))[None], cache)
        for step in range(steps):
            seen.append(logits[0].clone())
            token = logits.argmax(-1)
            mask = torch.ones((1, len(prompt) + step + 1), dtype=torch.long)
            logits = forward(token[:, None], mask, torch.tensor([[len(prompt) + step]]), cache)
    return seen


PROMPTS = {
    "c": list(range(20, 40)),  # starts the batch
    "b": [11, 12],  # joins with a prompt shorter than the batch's span: right-aligned
    "a": [5, 6, 7, 8, 9, 10],  # joins after c left: c's leading columns are cut
    "e": list(range(50, 80)),  # joins with a longer prompt: the others shift right
    "d": [41, 42, 43],  # starts the batch again after it emptied
}
JOINS = {0: ["c"], 2: ["b"], 9: ["a"], 10: ["e"], 19: ["d"]}  # step → who joins then


def test_rows_joining_and_leaving_get_the_logits_they_get_alone(
    tiny_llama: LlamaForCausalLM,
) -> None:
    steps = 8
    expected = {name: _alone(tiny_llama, prompt, steps) for name, prompt in PROMPTS.items()}
    batch = RunningBatch(_forward(tiny_llama), LAYERS, PAD, "cpu")
    rows: list[str] = []
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in PROMPTS}
    room = {name: steps for name in PROMPTS}
    logits: torch.Tensor | None = None
    with torch.inference_mode():
        for step in range(30):
            if step in JOINS:
                new = JOINS[step]
                left = [room[name] - len(seen[name]) for name in rows] + [room[n] for n in new]
                added = batch.admit([PROMPTS[n] for n in new], left)
                logits = added if logits is None else torch.cat([logits, added])
                rows += new
                if step == 9:  # b's prompt and 7 tokens; c's 20-token prompt no longer read
                    assert batch.columns == len(PROMPTS["b"]) + 7
            if not rows:
                continue
            assert logits is not None
            for row, name in enumerate(rows):
                seen[name].append(logits[row].clone())
            tokens = logits.argmax(-1)
            kept = [i for i, name in enumerate(rows) if len(seen[name]) < steps]
            if len(kept) < len(rows):
                batch.keep(kept)
                rows, tokens = [rows[i] for i in kept], tokens[kept]
            logits = batch.step(tokens) if rows else None
    assert batch.rows == 0
    for name in PROMPTS:
        assert len(seen[name]) == steps, name
        for ours, alone in zip(seen[name], expected[name], strict=True):
            torch.testing.assert_close(ours, alone, rtol=1e-4, atol=1e-5)
