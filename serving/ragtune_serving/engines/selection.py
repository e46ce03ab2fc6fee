"""Which generation engine serves, on which device, and why: the `engine: auto` rule. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EngineName = Literal["transformers", "tensorrt-llm"]
GPU_EXTRA = "ragtune[gpu]"


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot run here; the message says what to install or change."""


@dataclass(frozen=True, slots=True)
class EngineChoice:
    engine: EngineName
    device: Literal["cpu", "cuda"]
    reason: str

    @property
    def label(self) -> str:
        return f"{self.engine} on {self.device}"


def choose(
    requested: Literal["auto", "transformers", "tensorrt-llm"],
    device: Literal["auto", "cpu", "cuda"],
    *,
    tensorrt_llm: bool,
    cuda: bool,
    gguf: bool,
) -> EngineChoice:
    """The engine for a generator asking for `requested` on `device`, given what this process
    has: TensorRT-LLM importable, a CUDA device visible, and whether the model is a .gguf file
    (which TensorRT-LLM does not load)."""
    if requested == "tensorrt-llm":
        if not tensorrt_llm:
            raise EngineUnavailable(
                "generator.engine is tensorrt-llm but TensorRT-LLM is not installed: install "
                f"the optional extra {GPU_EXTRA} (the serving image has it), or use engine auto"
            )
        if not cuda or device == "cpu":
            raise EngineUnavailable(
                "generator.engine is tensorrt-llm, which runs only on a CUDA device; none is "
                "visible (give the generator GPUs, or use engine auto)"
            )
        if gguf:
            raise EngineUnavailable(
                "TensorRT-LLM loads Hugging Face model directories and engine directories, not "
                ".gguf files: point generator.model at one, or use engine transformers"
            )
        return EngineChoice("tensorrt-llm", "cuda", "asked for")
    if device == "cuda" and not cuda:
        raise EngineUnavailable("generator.device is cuda but no CUDA device is visible")
    on_cuda = device == "cuda" or (device == "auto" and cuda)
    if requested == "transformers":
        return EngineChoice("transformers", "cuda" if on_cuda else "cpu", "asked for")
    if on_cuda and tensorrt_llm and not gguf:
        return EngineChoice("tensorrt-llm", "cuda", "auto: TensorRT-LLM and a CUDA device")
    if on_cuda:
        why = "the model is a .gguf file" if tensorrt_llm else "TensorRT-LLM is not installed"
        return EngineChoice("transformers", "cuda", f"auto: a CUDA device; {why}")
    return EngineChoice("transformers", "cpu", "auto: no CUDA device")
