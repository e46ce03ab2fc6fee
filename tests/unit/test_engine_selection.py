"""`engine: auto` and explicit engine choices, given what the process has."""

from __future__ import annotations

from typing import Any

import pytest

from ragtune_serving.engines.selection import EngineUnavailable, choose

HAS = {"tensorrt_llm": True, "cuda": True, "gguf": False}


@pytest.mark.parametrize(
    ("requested", "device", "has", "engine", "on"),
    [
        ("auto", "auto", HAS, "tensorrt-llm", "cuda"),
        ("auto", "auto", {**HAS, "tensorrt_llm": False}, "transformers", "cuda"),
        ("auto", "auto", {**HAS, "gguf": True}, "transformers", "cuda"),
        ("auto", "auto", {**HAS, "cuda": False}, "transformers", "cpu"),
        ("auto", "cpu", HAS, "transformers", "cpu"),
        ("transformers", "auto", HAS, "transformers", "cuda"),
        ("transformers", "cpu", HAS, "transformers", "cpu"),
        ("tensorrt-llm", "auto", HAS, "tensorrt-llm", "cuda"),
    ],
)
def test_the_engine_chosen(
    requested: Any, device: Any, has: dict[str, bool], engine: str, on: str
) -> None:
    choice = choose(requested, device, **has)
    assert (choice.engine, choice.device) == (engine, on)
    assert choice.reason


@pytest.mark.parametrize(
    ("requested", "device", "has", "says"),
    [
        (
            "tensorrt-llm",
            "auto",
            {**HAS, "tensorrt_llm": False},
            "install the optional extra ragtune[gpu]",
        ),
        ("tensorrt-llm", "auto", {**HAS, "cuda": False}, "only on a CUDA device"),
        ("tensorrt-llm", "auto", {**HAS, "gguf": True}, "not .gguf files"),
        ("auto", "cuda", {**HAS, "cuda": False}, "no CUDA device is visible"),
    ],
)
def test_an_engine_that_cannot_run_here_fails_saying_what_to_do(
    requested: Any, device: Any, has: dict[str, bool], says: str
) -> None:
    with pytest.raises(EngineUnavailable, match=says.replace("[", r"\[").replace("]", r"\]")):
        choose(requested, device, **has)
