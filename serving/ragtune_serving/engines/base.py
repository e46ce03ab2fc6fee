"""The generation engine protocol every engine implements, and its parameter records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, str]


def chat_prompt_ids(tokenizer: Any, messages: Sequence[Message]) -> list[int]:
    """Token ids of `messages` in the model's chat template, ready for an answer: what every
    engine sends its model, so all engines answer the same prompt."""
    encoded = tokenizer.apply_chat_template(
        list(messages), add_generation_prompt=True, return_dict=True
    )
    return list(encoded["input_ids"])


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How to sample: temperature 0 means greedy decoding."""

    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0


@dataclass(slots=True)
class Usage:
    """Token counts of one generation, filled in when the stream ends."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class AdapterNotLoaded(LookupError):
    """A generation named an adapter the engine does not hold (never loaded, or evicted)."""


class GenerationEngine(Protocol):
    """Turns chat messages into a stream of text deltas; holds LoRA adapters by name."""

    @property
    def model_label(self) -> str:
        """Name of the loaded model, for logs and status."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        usage: Usage,
        adapter: str | None = None,
    ) -> AsyncIterator[str]:
        """Yield text deltas in order; fill `usage` before the iterator ends.

        Generation runs through loaded adapter `adapter`, or the base model when it is None;
        AdapterNotLoaded if the engine does not hold `adapter`.
        """
        ...

    def load_adapter(self, name: str, path: str) -> None:
        """Load the LoRA adapter saved in directory `path` as `name` (blocking).

        Raises if the directory holds no adapter that fits the model.
        """
        ...

    def unload_adapter(self, name: str) -> None:
        """Unload adapter `name` (blocking); nothing happens if it is not loaded."""
        ...

    def adapters(self) -> list[str]:
        """Names of the loaded adapters, sorted."""
        ...
