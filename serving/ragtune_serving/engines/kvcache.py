"""A KV cache allocated once per batch, for the transformers engine's decode loop.

transformers' DynamicCache grows each layer's keys and values by concatenation, copying the
whole cache at every step: with 8 rows of a few hundred tokens that copy took a quarter of a
CPU decode step. A batch knows its longest possible sequence (padded prompt + max tokens), so
each layer here allocates that once and writes every step's keys and values in place; the
attention reads a view of the filled part. Rows that leave the batch are dropped from the
buffers, as DynamicCache drops them; rows that join are copied in beside the others (`joined`).
"""

from __future__ import annotations

from typing import Any

from transformers.cache_utils import Cache, DynamicLayer


class PreallocatedLayer(DynamicLayer):  # type: ignore[misc]
    """One layer's keys and values, `[rows, heads, capacity, head_dim]`, filled left to right."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.length = 0
        self._keys: Any = None
        self._values: Any = None

    def lazy_initialization(self, key_states: Any, value_states: Any) -> None:
        rows, heads, _, key_dim = key_states.shape
        self.device = key_states.device
        self._keys = key_states.new_empty((rows, heads, self.capacity, key_dim))
        self._values = value_states.new_empty((rows, heads, self.capacity, value_states.shape[-1]))
        self.is_initialized = True

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise ValueError(f"KV cache holds {self.capacity} tokens; {end} asked for")
        self._keys[:, :, self.length : end] = key_states
        self._values[:, :, self.length : end] = value_states
        self.length = end
        self._expose()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def batch_select_indices(self, indices: Any) -> None:
        if self.is_initialized:
            self._keys = self._keys[indices]
            self._values = self._values[indices]
            self._expose()

    def _adopt(self, keys: Any, values: Any, length: int) -> None:
        self._keys, self._values, self.length = keys, values, length
        self.device = keys.device
        self.is_initialized = True
        self._expose()

    def _expose(self) -> None:
        self.keys = self._keys[:, :, : self.length]
        self.values = self._values[:, :, : self.length]


def preallocated_cache(layers: int, capacity: int) -> Cache:
    """A cache of `layers` layers, each holding up to `capacity` tokens per row."""
    return Cache(layers=[PreallocatedLayer(capacity) for _ in range(layers)])


def joined(first: Cache, start: int, second: Cache, length: int, capacity: int) -> Cache:
    """One cache holding `first`'s rows (their columns from `start` on) and then `second`'s
    rows, both right-aligned to end at column `length`, with room for `capacity` columns.
    Columns before a row's own start are zeros (its attention mask hides them)."""
    layers = []
    for a, b in zip(first.layers, second.layers, strict=True):
        if not (isinstance(a, PreallocatedLayer) and isinstance(b, PreallocatedLayer)):
            raise TypeError("joined() takes caches made by preallocated_cache()")
        layer = PreallocatedLayer(capacity)
        tensors = []
        for old, new in ((a._keys, b._keys), (a._values, b._values)):
            rows, heads, _, dim = old.shape
            both = old.new_zeros((rows + new.shape[0], heads, capacity, dim))
            both[:rows, :, length - (a.length - start) : length] = old[:, :, start : a.length]
            both[rows:, :, length - b.length : length] = new[:, :, : b.length]
            tensors.append(both)
        layer._adopt(tensors[0], tensors[1], length)
        layers.append(layer)
    return Cache(layers=layers)
