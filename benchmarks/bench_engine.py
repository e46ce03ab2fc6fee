"""Generation engine on this machine's CPU, side by side with raw `model.generate`.

Tokens/s of the transformers engine at 1 and 8 concurrent requests (batched), and of a plain
`model.generate` on the same model and prompts, in one run:

* batching: 8 concurrent clients' tokens/s over one client's (target ≥ 3×). Each client asks
  its next question as soon as its answer ends (a closed loop, as a service sees steady load);
  a single burst of 8 questions at once is reported beside it;
* engine overhead: the engine at one request over raw `generate` (target ≥ 0.9×).

    python benchmarks/bench_engine.py [--tokens 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import write_results
from rawgenerate import RawGenerate

from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.engines.base import SamplingParams, Usage
from ragtune_serving.engines.transformers_engine import TransformersEngine
from ragtune_serving.models import resolve_model

RATES = ("raw", "engine_1", "clients_1", "clients_8", "burst_8")
CLIENT_QUESTIONS = 8  # each client asks every prompt, in its own order: equal work
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


def _raw_rate(raw: RawGenerate, prompt: str, tokens: int) -> float:
    """Tokens/s of one raw answer."""
    new, seconds = raw.answer([{"role": "user", "content": prompt}], tokens)
    return new / seconds


async def _answer(engine: TransformersEngine, prompt: str, tokens: int) -> int:
    usage = Usage()
    messages = [{"role": "user", "content": prompt}]
    async for _ in engine.stream(messages, SamplingParams(max_tokens=tokens), usage):
        pass
    return usage.completion_tokens


async def _one_at_a_time(engine: TransformersEngine, tokens: int) -> list[float]:
    """Tokens/s of each prompt's answer, asked alone."""
    rates = []
    for prompt in PROMPTS:
        started = time.perf_counter()
        n = await _answer(engine, prompt, tokens)
        rates.append(n / (time.perf_counter() - started))
    return rates


async def _all_at_once(engine: TransformersEngine, tokens: int) -> float:
    """Tokens/s of all prompts' answers, asked together."""
    started = time.perf_counter()
    counts = await asyncio.gather(*(_answer(engine, p, tokens) for p in PROMPTS))
    return sum(counts) / (time.perf_counter() - started)


async def _clients(engine: TransformersEngine, tokens: int, clients: int) -> float:
    """Tokens/s of `clients` clients, each asking CLIENT_QUESTIONS prompts one after another
    (client i starts at prompt i), all at once."""

    async def client(first: int) -> int:
        asked = [PROMPTS[(first + n) % len(PROMPTS)] for n in range(CLIENT_QUESTIONS)]
        return sum([await _answer(engine, prompt, tokens) for prompt in asked])

    started = time.perf_counter()
    counts = await asyncio.gather(*(client(i) for i in range(clients)))
    return sum(counts) / (time.perf_counter() - started)


def _rates(tokens: int, rounds: int, threads: int) -> dict[str, float]:
    """Medians of the three ways, measured in turn within each round so that a slower minute
    of this machine weighs on all three alike."""
    raw = RawGenerate()
    engine = TransformersEngine(resolve_model(PACKAGED_GENERATOR), device="cpu", threads=threads)
    asyncio.run(_answer(engine, "warm up", 4))
    measured: dict[str, list[float]] = {name: [] for name in RATES}
    try:
        for _ in range(rounds):
            measured["raw"] += [_raw_rate(raw, prompt, tokens) for prompt in PROMPTS]
            measured["engine_1"] += asyncio.run(_one_at_a_time(engine, tokens))
            measured["clients_1"].append(asyncio.run(_clients(engine, tokens, 1)))
            measured["clients_8"].append(asyncio.run(_clients(engine, tokens, 8)))
            measured["burst_8"].append(asyncio.run(_all_at_once(engine, tokens)))
    finally:
        engine.close()
    return {name: statistics.median(values) for name, values in measured.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    import torch

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    rates = _rates(options.tokens, options.rounds, threads)
    now = datetime.now(UTC)
    report: dict[str, Any] = {
        "machine": f"{platform.node()}: {threads} CPU cores, {platform.machine()}, no GPU",
        "when": f"{now:%Y-%m-%d %H:%M} UTC",
        "torch": torch.__version__,
        "tokens": options.tokens,
        "rounds": options.rounds,
        "raw_generate_tokens_per_s": round(rates["raw"], 1),
        "engine_1_tokens_per_s": round(rates["engine_1"], 1),
        "clients_1_tokens_per_s": round(rates["clients_1"], 1),
        "clients_8_tokens_per_s": round(rates["clients_8"], 1),
        "burst_8_tokens_per_s": round(rates["burst_8"], 1),
        "batching_ratio_8_vs_1": round(rates["clients_8"] / rates["clients_1"], 2),
        "burst_ratio_8_vs_1": round(rates["burst_8"] / rates["clients_1"], 2),
        "engine_vs_raw": round(rates["engine_1"] / rates["raw"], 3),
    }
    report["targets"] = {
        "batching_ratio_8_vs_1 >= 3": report["batching_ratio_8_vs_1"] >= 3,
        "engine_vs_raw >= 0.9": report["engine_vs_raw"] >= 0.9,
    }
    lines = [
        f"# Generation engine on CPU — {report['machine']}",
        "",
        f"{report['when']}, torch {report['torch']}, up to {options.tokens} new tokens per "
        f"answer, greedy, medians over {options.rounds} rounds; each round measures every line "
        f"in turn. A client asks {CLIENT_QUESTIONS} of the {len(PROMPTS)} prompts one after "
        "another.",
        "",
        "| what | tokens/s |",
        "|---|---|",
        f"| raw `model.generate`, one prompt at a time | {report['raw_generate_tokens_per_s']} |",
        f"| engine, one prompt at a time | {report['engine_1_tokens_per_s']} |",
        f"| engine, 1 client | {report['clients_1_tokens_per_s']} |",
        f"| engine, 8 concurrent clients | {report['clients_8_tokens_per_s']} |",
        f"| engine, one burst of 8 prompts at once | {report['burst_8_tokens_per_s']} |",
        "",
        f"8 concurrent clients vs 1: {report['batching_ratio_8_vs_1']}× (target ≥ 3×); one "
        f"burst of 8 vs 1 client: {report['burst_ratio_8_vs_1']}×; engine vs raw generate: "
        f"{report['engine_vs_raw']}× (target ≥ 0.9×).",
        "",
    ]
    write_results("engine", now, report, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
