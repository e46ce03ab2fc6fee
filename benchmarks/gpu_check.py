"""GPU check of the generation engines, sized for a few minutes on one H100/H200.

transformers engine on CUDA (bf16, SDPA, batched): greedy answers compared with the CPU
engine's on the same prompts, tokens/s at 1 and 8 concurrent requests, time to first token,
LoRA on vs off. TensorRT-LLM the same when it is importable; where it is not, the results say
so and carry no TensorRT-LLM figure.

    python benchmarks/gpu_check.py --model PATH.gguf --out DIR [--cpu-threads 8]

Writes gpu-check.json and gpu-check.md to DIR, naming the card.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ragtune_serving.engines.base import SamplingParams, Usage
from ragtune_serving.engines.transformers_engine import TransformersEngine
from ragtune_serving.models import ResolvedModel

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
COMPARE_TOKENS = 32
SPEED_TOKENS = 128


async def _answer(
    engine: Any, prompt: str, tokens: int, adapter: str | None = None
) -> tuple[str, int, float, float]:
    """(text, completion tokens, seconds to first delta, seconds in all)."""
    usage = Usage()
    started = time.perf_counter()
    first = 0.0
    parts: list[str] = []
    messages = [{"role": "user", "content": prompt}]
    async for delta in engine.stream(messages, SamplingParams(max_tokens=tokens), usage, adapter):
        if not parts:
            first = time.perf_counter() - started
        parts.append(delta)
    return "".join(parts), usage.completion_tokens, first, time.perf_counter() - started


async def _throughput(
    engine: Any, concurrency: int, adapter: str | None = None, rounds: int = 3
) -> dict[str, float]:
    """Generated tokens per second with `concurrency` requests at once (median of rounds)."""
    rates, firsts = [], []
    for _ in range(rounds):
        prompts = [PROMPTS[i % len(PROMPTS)] for i in range(concurrency)]
        started = time.perf_counter()
        done = await asyncio.gather(*(_answer(engine, p, SPEED_TOKENS, adapter) for p in prompts))
        elapsed = time.perf_counter() - started
        rates.append(sum(n for _, n, _, _ in done) / elapsed)
        firsts += [f for _, _, f, _ in done]
    return {
        "tokens_per_s": round(statistics.median(rates), 1),
        "ttft_ms_p50": round(statistics.median(firsts) * 1000, 1),
    }


def _random_adapter(model: ResolvedModel, directory: Path) -> Path:
    """A LoRA adapter for this architecture with non-zero weights (r=8 on q/k/v/o)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model.name_or_path, gguf_file=model.gguf_file)
    torch.manual_seed(0)
    lora = LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
    )
    get_peft_model(AutoModelForCausalLM.from_config(config), lora).save_pretrained(str(directory))
    return directory


def _raw_generate(model: ResolvedModel, dtype: Any, rounds: int = 3) -> float:
    """Tokens/s of plain `model.generate` on CUDA, one prompt at a time (median): the peer
    that tells an engine change from a slower host."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model.name_or_path, gguf_file=model.gguf_file)
    raw = AutoModelForCausalLM.from_pretrained(
        model.name_or_path, gguf_file=model.gguf_file, dtype=dtype, attn_implementation="sdpa"
    ).to("cuda")
    raw.eval()
    rates = []
    for _ in range(rounds):
        for prompt in PROMPTS:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}],
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            )["input_ids"].to("cuda")
            torch.cuda.synchronize()
            started = time.perf_counter()
            with torch.inference_mode():
                out = raw.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=SPEED_TOKENS,
                    do_sample=False,
                    pad_token_id=tokenizer.eos_token_id,
                )
            torch.cuda.synchronize()
            rates.append((out.shape[1] - ids.shape[1]) / (time.perf_counter() - started))
    del raw
    return float(round(statistics.median(rates), 1))


async def _check_transformers(model: ResolvedModel, cpu_threads: int, work: Path) -> dict[str, Any]:
    import torch

    results: dict[str, Any] = {"engine": "transformers"}
    cpu = TransformersEngine(model, device="cpu", threads=cpu_threads)
    cuda = TransformersEngine(model, device="cuda")
    results["dtype_cuda"] = str(next(cuda._model.parameters()).dtype)
    await _answer(cuda, "warm up", 4)
    compared = []
    for prompt in PROMPTS:
        on_cpu, _, _, _ = await _answer(cpu, prompt, COMPARE_TOKENS)
        on_cuda, _, _, _ = await _answer(cuda, prompt, COMPARE_TOKENS)
        compared.append(
            {"prompt": prompt, "cpu": on_cpu, "cuda": on_cuda, "equal": on_cpu == on_cuda}
        )
    results["greedy_equal"] = sum(c["equal"] for c in compared)
    results["greedy_compared"] = len(compared)
    results["greedy"] = compared
    # The same engine on CUDA in float32: what bf16 rounding changes, and what it does not.
    cuda32 = TransformersEngine(model, device="cuda", dtype="float32")
    equal32 = 0
    for entry in compared:
        text, _, _, _ = await _answer(cuda32, str(entry["prompt"]), COMPARE_TOKENS)
        entry["cuda_float32"] = text
        equal32 += text == entry["cpu"]
    results["greedy_equal_float32"] = equal32
    cuda32.close()
    cpu.close()
    del cpu, cuda32
    results["raw_generate_1"] = _raw_generate(model, next(cuda._model.parameters()).dtype)
    results["base_1"] = await _throughput(cuda, 1)
    results["base_8"] = await _throughput(cuda, 8)
    adapter = _random_adapter(model, work / "lora")
    cuda.load_adapter("lora", str(adapter))
    results["lora_1"] = await _throughput(cuda, 1, "lora")
    results["lora_8"] = await _throughput(cuda, 8, "lora")
    results["batch_speedup_8_vs_1"] = round(
        results["base_8"]["tokens_per_s"] / results["base_1"]["tokens_per_s"], 2
    )
    results["engine_vs_raw_1"] = round(
        results["base_1"]["tokens_per_s"] / results["raw_generate_1"], 2
    )
    results["lora_vs_base_8"] = round(
        results["lora_8"]["tokens_per_s"] / results["base_8"]["tokens_per_s"], 2
    )
    results["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    cuda.close()
    return results


def _markdown(report: dict[str, Any]) -> str:
    t = report["transformers"]
    lines = [
        f"# GPU check — {report['card']}",
        "",
        f"{report['when']}, torch {report['torch']}, CUDA {report['cuda']}, "
        f"transformers {report['transformers_version']}, model {report['model']}.",
        "",
        "## transformers engine on CUDA",
        "",
        f"Greedy answers ({COMPARE_TOKENS} tokens) equal to the CPU engine's (float32): "
        f"{t['greedy_equal']} of {t['greedy_compared']} prompts with CUDA in {t['dtype_cuda']} "
        f"(the serving default), {t['greedy_equal_float32']} of {t['greedy_compared']} with CUDA "
        "in float32.",
        "",
        "| requests at once | adapter | tokens/s (median of 3) | time to first token p50 |",
        "|---|---|---|---|",
        f"| 1, raw `model.generate` (peer) | none | {t['raw_generate_1']} | |",
    ]
    for key, n, adapter in (
        ("base_1", 1, "none"),
        ("base_8", 8, "none"),
        ("lora_1", 1, "LoRA r=8"),
        ("lora_8", 8, "LoRA r=8"),
    ):
        row = t[key]
        lines.append(f"| {n} | {adapter} | {row['tokens_per_s']} | {row['ttft_ms_p50']} ms |")
    lines += [
        "",
        f"8 concurrent vs 1: {t['batch_speedup_8_vs_1']}× tokens/s; engine vs raw generate at "
        f"1: {t['engine_vs_raw_1']}×; LoRA vs base at 8: "
        f"{t['lora_vs_base_8']}×; peak GPU memory {t['peak_memory_gib']} GiB.",
        "",
        "## TensorRT-LLM",
        "",
        report["tensorrt_llm"],
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a .gguf file or model directory")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cpu-threads", type=int, default=8)
    options = parser.parse_args()
    import torch
    import transformers

    if not torch.cuda.is_available():
        print("no CUDA device is visible: this check needs one", file=sys.stderr)
        return 2
    model = (
        ResolvedModel(str(options.model.parent), options.model.name)
        if options.model.suffix == ".gguf"
        else ResolvedModel(str(options.model))
    )
    options.out.mkdir(parents=True, exist_ok=True)
    work = options.out / "work"
    work.mkdir(exist_ok=True)
    report: dict[str, Any] = {
        "card": torch.cuda.get_device_name(0),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host": platform.node(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers_version": transformers.__version__,
        "model": model.label,
    }
    started = time.perf_counter()
    report["transformers"] = asyncio.run(_check_transformers(model, options.cpu_threads, work))
    if importlib.util.find_spec("tensorrt_llm") is None:
        report["tensorrt_llm"] = (
            "TensorRT-LLM is not importable on this machine (it cannot be installed here): "
            "not measured, no figure reported."
        )
    else:
        report["tensorrt_llm"] = (
            "TensorRT-LLM is importable, but the packaged model is a .gguf file, which it does "
            "not load: not measured."
        )
    report["seconds"] = round(time.perf_counter() - started, 1)
    (options.out / "gpu-check.json").write_text(json.dumps(report, indent=2) + "\n")
    (options.out / "gpu-check.md").write_text(_markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
