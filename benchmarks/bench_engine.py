"""Generation engine on this machine's CPU, side by side with raw `model.generate`.

Tokens/s of the transformers engine at 1 and 8 concurrent requests (batched), and of a plain
`model.generate` on the same model and prompts, in one run:

* batching: 8 concurrent requests' tokens/s over one request's (target ≥ 3×);
* engine overhead: the engine at one request over raw `generate` (target ≥ 0.9×).

    python benchmarks/bench_engine.py [--tokens 64] [--rounds 3] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.engines.base import SamplingParams, Usage
from ragtune_serving.engines.transformers_engine import TransformersEngine
from ragtune_serving.models import resolve_model

PROMPTS = [
    "What is the capital of France?",
    "Name three colours of the rainbow.",
    "Count from one to five.",
    "What is 2+2?",
    "Say hello in Spanish.",
    "What is water made of?",
    "Name a planet in the solar system.",
    "What do bees make?",
]


def _raw_generate(tokens: int, rounds: int) -> float:
    """Tokens/s of `model.generate` alone, one prompt at a time (median over the prompts)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_ref = resolve_model(PACKAGED_GENERATOR)
    tokenizer = AutoTokenizer.from_pretrained(model_ref.name_or_path, gguf_file=model_ref.gguf_file)
    model = AutoModelForCausalLM.from_pretrained(
        model_ref.name_or_path, gguf_file=model_ref.gguf_file, dtype=torch.float32
    ).eval()
    rates = []
    for _ in range(rounds):
        for prompt in PROMPTS:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}],
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            )["input_ids"]
            started = time.perf_counter()
            with torch.inference_mode():
                out = model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.eos_token_id,
                )
            rates.append((out.shape[1] - ids.shape[1]) / (time.perf_counter() - started))
    return statistics.median(rates)


async def _answer(engine: TransformersEngine, prompt: str, tokens: int) -> int:
    usage = Usage()
    messages = [{"role": "user", "content": prompt}]
    async for _ in engine.stream(messages, SamplingParams(max_tokens=tokens), usage):
        pass
    return usage.completion_tokens


async def _engine_rates(engine: TransformersEngine, tokens: int, rounds: int) -> dict[str, float]:
    one: list[float] = []
    for _ in range(rounds):
        for prompt in PROMPTS:
            started = time.perf_counter()
            n = await _answer(engine, prompt, tokens)
            one.append(n / (time.perf_counter() - started))
    eight: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        counts = await asyncio.gather(*(_answer(engine, p, tokens) for p in PROMPTS))
        eight.append(sum(counts) / (time.perf_counter() - started))
    return {"engine_1": statistics.median(one), "engine_8": statistics.median(eight)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    options = parser.parse_args()
    import torch

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    raw = _raw_generate(options.tokens, options.rounds)
    engine = TransformersEngine(resolve_model(PACKAGED_GENERATOR), device="cpu", threads=threads)
    asyncio.run(_answer(engine, "warm up", 4))
    rates = asyncio.run(_engine_rates(engine, options.tokens, options.rounds))
    engine.close()
    report: dict[str, Any] = {
        "machine": f"{platform.node()}: {threads} CPU cores, {platform.machine()}, no GPU",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "torch": torch.__version__,
        "tokens": options.tokens,
        "rounds": options.rounds,
        "raw_generate_tokens_per_s": round(raw, 1),
        "engine_1_tokens_per_s": round(rates["engine_1"], 1),
        "engine_8_tokens_per_s": round(rates["engine_8"], 1),
        "batching_ratio_8_vs_1": round(rates["engine_8"] / rates["engine_1"], 2),
        "engine_vs_raw": round(rates["engine_1"] / raw, 3),
    }
    report["targets"] = {
        "batching_ratio_8_vs_1 >= 3": report["batching_ratio_8_vs_1"] >= 3,
        "engine_vs_raw >= 0.9": report["engine_vs_raw"] >= 0.9,
    }
    stem = f"{time.strftime('%Y-%m-%d')}-{platform.node() or 'host'}-engine"
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Generation engine on CPU — {report['machine']}",
        "",
        f"{report['when']}, torch {report['torch']}, {options.tokens} new tokens per request, "
        f"greedy, medians over {options.rounds} rounds of {len(PROMPTS)} prompts.",
        "",
        "| what | tokens/s |",
        "|---|---|",
        f"| raw `model.generate`, one prompt | {report['raw_generate_tokens_per_s']} |",
        f"| engine, 1 request | {report['engine_1_tokens_per_s']} |",
        f"| engine, 8 concurrent requests (batched) | {report['engine_8_tokens_per_s']} |",
        "",
        f"8 concurrent vs 1: {report['batching_ratio_8_vs_1']}× (target ≥ 3×); engine vs raw "
        f"generate: {report['engine_vs_raw']}× (target ≥ 0.9×).",
        "",
    ]
    (options.out / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
