"""Per-mode summaries of an evaluation, the recommendation drawn from them, and the markdown
table a team can put in a design review. Pure: measurements in, numbers and text out.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ragtune_serving.evaluation.questions import Question
from ragtune_serving.evaluation.scoring import Score


@dataclass(frozen=True, slots=True)
class Measured:
    """One question asked in one mode: its scores, latency and tokens."""

    mode: str
    question: Question
    score: Score
    total_ms: float
    first_token_ms: float
    prompt_tokens: int
    completion_tokens: int
    answer: str = ""


@dataclass(frozen=True, slots=True)
class Prices:
    """What a model's tokens cost, per 1,000 tokens."""

    prompt_per_1k: float = 0.0
    completion_per_1k: float = 0.0


@dataclass(frozen=True, slots=True)
class Fresh:
    """One mode's freshness: seconds from the update until it answered with the new fact,
    or None when it never did within the time allowed; what it last answered."""

    mode: str
    seconds: float | None
    last_answer: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class ModeSummary:
    """A mode's results over the question set; None where no question measured it."""

    mode: str
    questions: int
    correct: float | None  # share of in-corpus questions answered correctly
    f1: float | None
    hit: float | None
    mrr: float | None
    citation_precision: float | None
    declined_outside: float | None  # share of out-of-corpus questions declined (higher: better)
    declined_inside: float | None  # share of in-corpus questions declined (lower: better)
    format_valid: float | None
    p50_ms: float
    p95_ms: float
    first_token_p50_ms: float
    prompt_tokens: float  # mean per question
    completion_tokens: float
    cost_per_1k_questions: float


def _share(values: Sequence[bool | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(mode: str, measured: Sequence[Measured], prices: Prices) -> ModeSummary:
    """The summary of one mode's measurements."""
    scores = [m.score for m in measured]
    inside = [m.score for m in measured if m.question.in_corpus]
    outside = [m.score for m in measured if not m.question.in_corpus]
    prompt = statistics.fmean(m.prompt_tokens for m in measured) if measured else 0.0
    completion = statistics.fmean(m.completion_tokens for m in measured) if measured else 0.0
    totals = [m.total_ms for m in measured]
    return ModeSummary(
        mode=mode,
        questions=len(measured),
        correct=_share([s.correct for s in inside]),
        f1=_mean([s.f1 for s in inside]),
        hit=_share([s.hit for s in inside]),
        mrr=_mean([s.reciprocal_rank for s in inside]),
        citation_precision=_mean([s.citation_precision for s in inside]),
        declined_outside=_share([s.declined for s in outside]),
        declined_inside=_share([s.declined for s in inside]),
        format_valid=_share([s.format_valid for s in scores]),
        p50_ms=percentile(totals, 50),
        p95_ms=percentile(totals, 95),
        first_token_p50_ms=percentile([m.first_token_ms for m in measured], 50),
        prompt_tokens=prompt,
        completion_tokens=completion,
        # 1000 questions × (tokens / 1000) × price per 1k tokens
        cost_per_1k_questions=prompt * prices.prompt_per_1k + completion * prices.completion_per_1k,
    )


def quality(summary: ModeSummary) -> tuple[float, float, float]:
    """How a mode ranks on answers: correct share, then declining what it cannot answer,
    then F1."""
    return (summary.correct or 0.0, summary.declined_outside or 0.0, summary.f1 or 0.0)


@dataclass(frozen=True, slots=True)
class Winners:
    """The mode that wins on each count; cost only with prices given, format only where a
    question asks for one."""

    quality: str
    latency: str
    cost: str | None
    format: str | None


def winners(summaries: Sequence[ModeSummary]) -> Winners | None:
    """Which mode wins on quality, latency, cost and format; None for no modes."""
    if not summaries:
        return None
    priced = any(s.cost_per_1k_questions for s in summaries)
    formats = [s for s in summaries if s.format_valid is not None]
    return Winners(
        quality=max(summaries, key=quality).mode,
        latency=min(summaries, key=lambda s: s.p50_ms).mode,
        cost=(
            min(summaries, key=lambda s: (s.cost_per_1k_questions, s.p50_ms)).mode
            if priced
            else None
        ),
        format=max(formats, key=lambda s: s.format_valid or 0.0).mode if formats else None,
    )


def recommend(summaries: Sequence[ModeSummary]) -> list[str]:
    """Which mode wins on quality, on latency and on cost, each with the numbers behind it."""
    won = winners(summaries)
    if won is None:
        return []
    by_mode = {s.mode: s for s in summaries}
    best, fastest = by_mode[won.quality], by_mode[won.latency]
    lines = [
        f"Quality: **{best.mode}** — {_pct(best.correct)} correct, declines "
        f"{_pct(best.declined_outside)} of out-of-corpus questions."
    ]
    lines.append(
        f"Latency: **{fastest.mode}** — p50 {fastest.p50_ms:.0f} ms"
        + (f" ({best.mode}: {best.p50_ms:.0f} ms)." if fastest is not best else ".")
    )
    if won.cost is not None:
        cheapest = by_mode[won.cost]
        lines.append(
            f"Cost: **{cheapest.mode}** — {cheapest.cost_per_1k_questions:.4f} per 1k questions"
            + (
                f" ({best.mode}: {best.cost_per_1k_questions:.4f})."
                if cheapest is not best
                else "."
            )
        )
    else:
        lines.append("Cost: no token prices given (--price-in, --price-out).")
    if won.format is not None:
        shaped = by_mode[won.format]
        lines.append(f"Format: **{shaped.mode}** — {_pct(shaped.format_valid)} valid JSON.")
    return lines


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def markdown_table(summaries: Sequence[ModeSummary]) -> str:
    """One row per mode, the columns a design review asks about."""
    lines = [
        "| mode | correct | F1 | hit@k | MRR | citation precision | declines out-of-corpus "
        "| declines answerable | JSON valid | p50 ms | p95 ms | first token p50 ms "
        "| tokens in/out | cost / 1k questions |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        mrr = "–" if s.mrr is None else f"{s.mrr:.2f}"
        f1 = "–" if s.f1 is None else f"{s.f1:.2f}"
        lines.append(
            f"| {s.mode} | {_pct(s.correct)} | {f1} | {_pct(s.hit)} | {mrr} "
            f"| {_pct(s.citation_precision)} | {_pct(s.declined_outside)} "
            f"| {_pct(s.declined_inside)} | {_pct(s.format_valid)} | {s.p50_ms:.0f} "
            f"| {s.p95_ms:.0f} | {s.first_token_p50_ms:.0f} "
            f"| {s.prompt_tokens:.0f}/{s.completion_tokens:.0f} "
            f"| {s.cost_per_1k_questions:.4f} |"
        )
    return "\n".join(lines)
