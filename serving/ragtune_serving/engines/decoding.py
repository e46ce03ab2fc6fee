"""The rows of a running batch on a causal LM: their KV cache, attention mask and positions.

Rows join (prefilled on their own, then right-aligned with the rows already there) and leave
(their cache rows dropped) between decode steps; each step feeds one token per row. All rows
share the cache's columns: a row's prompt ends where the others' tokens so far end, and the
columns before its start are padding its attention mask hides. Leading columns no row needs
any more are cut when rows join, so the cache spans the longest live row, not the batch's age.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ragtune_serving.engines.kvcache import joined, preallocated_cache

Forward = Callable[[Any, Any, Any, Any], Any]
"""(input ids, attention mask, position ids, cache) → the logits of each row's last position."""


class RunningBatch:
    """Rows of one running batch, in the order they joined minus those that left."""

    def __init__(self, forward: Forward, layers: int, pad_id: int, device: Any) -> None:
        self._forward = forward
        self._device = device
        self._layers = layers
        self._pad = pad_id
        self._cache: Any = None
        self._mask: Any = None  # rows × capacity: 1 where a row has a token
        self._next: Any = None  # rows × 1: each row's next position id
        self._length = 0  # columns filled

    @property
    def rows(self) -> int:
        return 0 if self._next is None else int(self._next.shape[0])

    @property
    def columns(self) -> int:
        """Cache columns the attention reads at the next step, less one."""
        return self._length

    def admit(self, prompts: Sequence[Sequence[int]], room: Sequence[int]) -> Any:
        """Prefill `prompts` as new rows at the end of the batch. `room`: tokens each row (the
        running ones, then the new ones) may still add. Returns the new rows' logits."""
        import torch

        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
        ids, mask = ids.to(self._device), mask.to(self._device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        capacity = width + max(room[self.rows :])
        cache = preallocated_cache(self._layers, width if self.rows else capacity)
        logits = self._forward(ids, mask, positions, cache)
        following = positions[:, -1:] + 1
        if not self.rows:
            self._cache, self._length, self._next = cache, width, following
            self._mask = torch.cat([mask, mask.new_ones((len(prompts), capacity - width))], -1)
            return logits
        first = int(self._mask[:, : self._length].argmax(-1).min())  # leading columns in use
        length = max(self._length - first, width)
        capacity = length + max(room)
        self._cache = joined(self._cache, first, cache, length, capacity)
        old = self._mask.new_zeros((self.rows, capacity))
        old[:, length - (self._length - first) : length] = self._mask[:, first : self._length]
        new = mask.new_zeros((len(prompts), capacity))
        new[:, length - width : length] = mask
        self._mask = torch.cat([old, new])
        self._mask[:, length:] = 1
        self._next = torch.cat([self._next, following])
        self._length = length
        return logits

    def keep(self, rows: Sequence[int]) -> None:
        """Keep only `rows` (indices into the current rows, in order)."""
        import torch

        index = torch.tensor(list(rows), dtype=torch.long, device=self._device)
        if len(rows):
            self._cache.batch_select_indices(index)
            self._mask, self._next = self._mask[index], self._next[index]
        else:
            self._cache = self._mask = self._next = None
            self._length = 0

    def step(self, tokens: Any) -> Any:
        """Feed each row its last token; the logits of each row's next one."""
        logits = self._forward(
            tokens[:, None], self._mask[:, : self._length + 1], self._next, self._cache
        )
        self._length += 1
        self._next = self._next + 1
        return logits
