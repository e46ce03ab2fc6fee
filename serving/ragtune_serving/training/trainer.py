"""LoRA fine-tuning with PEFT: a dataset in, a standard PEFT adapter directory out.

Generation and query-rewrite adapters train on the generator model (causal LM; the loss covers
the response tokens only, the prompt being the one serving sends). Rerank adapters train a
cross-encoder on the embedding model: its transformer plus a relevance head, scored on
(question, passage) pairs. Next to the adapter goes `training_metrics.json`: what was trained on
what, the loss per epoch, and the lines the dataset skipped.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ragtune_serving.config import PACKAGED_EMBEDDING, PACKAGED_GENERATOR
from ragtune_serving.models import ResolvedModel, resolve_model
from ragtune_serving.training.datasets import (
    Dataset,
    PairExample,
    Purpose,
    TextExample,
    messages_for,
)

METRICS_FILE = "training_metrics.json"
CAUSAL_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
ENCODER_TARGETS = ("query", "key", "value")
Progress = Callable[[int, int, float], None]  # (step, total steps, loss of the step)


def default_base(purpose: Purpose) -> str:
    """The model an adapter of `purpose` is trained on unless told otherwise."""
    return PACKAGED_EMBEDDING if purpose == "rerank" else PACKAGED_GENERATOR


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    """How to train; the defaults suit a few hundred examples on the packaged small models."""

    purpose: Purpose = "generation"
    base_model: str = ""  # empty: default_base(purpose)
    epochs: int = 3
    rank: int = 8
    alpha: int = 16
    learning_rate: float = 1e-3
    batch_size: int = 4
    max_length: int = 384
    seed: int = 0
    threads: int = 0  # torch threads; 0 = every core

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 1,
            "rank": self.rank >= 1,
            "alpha": self.alpha >= 1,
            "learning_rate": 0 < self.learning_rate < 1,
            "batch_size": self.batch_size >= 1,
            "max_length": self.max_length >= 16,
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise ValueError(f"training option out of range: {', '.join(wrong)}")

    @property
    def base(self) -> str:
        return self.base_model or default_base(self.purpose)


@dataclass(frozen=True, slots=True)
class TrainingMetrics:
    """What `training_metrics.json` holds."""

    purpose: str
    base_model: str
    examples: int
    skipped_lines: int
    skipped_reasons: list[str]
    epochs: int
    rank: int
    steps: int
    epoch_losses: list[float]
    final_loss: float
    seconds: float


def train(
    dataset: Dataset, out: Path, options: TrainingOptions, progress: Progress | None = None
) -> TrainingMetrics:
    """Train a LoRA adapter on `dataset` and save it (and its metrics) into directory `out`."""
    import torch

    torch.set_num_threads(options.threads or os.cpu_count() or 1)
    torch.manual_seed(options.seed)
    random.seed(options.seed)
    started = time.perf_counter()
    model_ref = resolve_model(options.base)
    if options.purpose == "rerank":
        pairs = [e for e in dataset.examples if isinstance(e, PairExample)]
        model, batches = _reranker(model_ref, pairs, options)
    else:
        texts = [e for e in dataset.examples if isinstance(e, TextExample)]
        model, batches = _causal(model_ref, texts, options)
    losses = _fit(model, batches, options, progress)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    metrics = TrainingMetrics(
        purpose=options.purpose,
        base_model=options.base,
        examples=len(dataset.examples),
        skipped_lines=len(dataset.skipped),
        skipped_reasons=[f"line {n}: {why}" for n, why in dataset.skipped[:20]],
        epochs=options.epochs,
        rank=options.rank,
        steps=options.epochs * len(batches),
        epoch_losses=[round(loss, 6) for loss in losses],
        final_loss=round(losses[-1], 6),
        seconds=round(time.perf_counter() - started, 2),
    )
    (out / METRICS_FILE).write_text(json.dumps(asdict(metrics), indent=2) + "\n")
    return metrics


def read_metrics(directory: Path) -> dict[str, Any] | None:
    """The metrics a training run left in `directory`, or None if there are none."""
    path = directory / METRICS_FILE
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


Batch = dict[str, Any]


def _causal(
    model_ref: ResolvedModel, examples: Sequence[TextExample], options: TrainingOptions
) -> tuple[Any, list[Batch]]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"gguf_file": model_ref.gguf_file} if model_ref.gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(model_ref.name_or_path, **kwargs)
    base = AutoModelForCausalLM.from_pretrained(
        model_ref.name_or_path, dtype=torch.float32, **kwargs
    )
    config = LoraConfig(
        r=options.rank,
        lora_alpha=options.alpha,
        lora_dropout=0.05,
        target_modules=list(CAUSAL_TARGETS),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    end = tokenizer.eos_token or ""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rows: list[tuple[list[int], list[int]]] = []
    for example in examples:
        prompt = tokenizer.apply_chat_template(
            messages_for(example, options.purpose), add_generation_prompt=True, tokenize=False
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(example.response + end, add_special_tokens=False)["input_ids"]
        ids = (prompt_ids + answer_ids)[-options.max_length :]
        labels = ([-100] * len(prompt_ids) + answer_ids)[-options.max_length :]
        rows.append((ids, labels))
    batches = []
    for chunk in _chunks(rows, options.batch_size, options.seed):
        width = max(len(ids) for ids, _ in chunk)
        batches.append(
            {
                "input_ids": torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in chunk]),
                "attention_mask": torch.tensor(
                    [[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chunk]
                ),
                "labels": torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in chunk]),
            }
        )
    return model, batches


def _reranker(
    model_ref: ResolvedModel, examples: Sequence[PairExample], options: TrainingOptions
) -> tuple[Any, list[Batch]]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_ref.name_or_path)
    base = AutoModelForSequenceClassification.from_pretrained(model_ref.name_or_path, num_labels=1)
    config = LoraConfig(
        r=options.rank,
        lora_alpha=options.alpha,
        lora_dropout=0.05,
        target_modules=list(ENCODER_TARGETS),
        modules_to_save=["classifier", "pooler"],
        task_type="SEQ_CLS",
    )
    model = get_peft_model(base, config)
    batches = []
    for chunk in _chunks(list(examples), options.batch_size, options.seed):
        encoded = tokenizer(
            [e.question for e in chunk],
            [e.passage for e in chunk],
            truncation="only_second",
            max_length=min(options.max_length, 512),
            padding=True,
            return_tensors="pt",
        )
        encoded["labels"] = torch.tensor([[1.0 if e.relevant else 0.0] for e in chunk])
        batches.append(dict(encoded))
    return model, batches


def _chunks(rows: list[Any], size: int, seed: int) -> list[list[Any]]:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    return [shuffled[i : i + size] for i in range(0, len(shuffled), size)]


def _fit(
    model: Any, batches: list[Batch], options: TrainingOptions, progress: Progress | None
) -> list[float]:
    """Train `model` for `options.epochs` over `batches` (reshuffled each epoch); the mean
    loss of every epoch."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=options.learning_rate, weight_decay=0.0)
    total = options.epochs * len(batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step / max(total, 1), 1.0)))
    )
    order = random.Random(options.seed)
    model.train()
    losses: list[float] = []
    step = 0
    for _ in range(options.epochs):
        epoch = list(batches)
        order.shuffle(epoch)
        running = 0.0
        for batch in epoch:
            loss = _loss(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running += float(loss.detach())
            if progress is not None:
                progress(step, total, float(loss.detach()))
        losses.append(running / max(len(epoch), 1))
    model.eval()
    return losses


def _loss(model: Any, batch: Batch) -> Any:
    import torch

    if batch["labels"].dtype.is_floating_point:  # relevance scores: one logit per pair
        labels = batch["labels"]
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs).logits
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    return model(**batch).loss
