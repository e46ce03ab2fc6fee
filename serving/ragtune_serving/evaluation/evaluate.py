"""`ragtune eval`: load the questions, pick the modes, ask, summarise, write the report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ragtune_serving.client import RagClient
from ragtune_serving.evaluation import freshness, modes, questions, report, runner
from ragtune_serving.evaluation.summary import (
    Fresh,
    ModeSummary,
    Prices,
    markdown_table,
    recommend,
)
from ragtune_serving.evaluation.summary import summarise as summarise_mode


@dataclass(frozen=True, slots=True)
class Plan:
    """What to evaluate and how."""

    kb: str
    questions_file: Path
    modes: Sequence[str] | None = None  # None: every mode the knowledge base can serve
    adapter: str = ""
    out: Path = Path("eval-report")
    max_questions: int | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    prices: Prices = field(default_factory=Prices)
    freshness: bool = False  # change a probe document and time each mode's catching up
    freshness_timeout_s: float = 60.0
    summary: Path | None = None  # where to write the compact summary document, if anywhere


def evaluate(client: RagClient, plan: Plan, say: Callable[[str], None] = print) -> list[Path]:
    """Run `plan` against the service `client` talks to; print the table; return the files
    written. Raises questions.QuestionSetError, modes.ModeError, runner.EvaluationError and
    ClientError with what is wrong."""
    asked = questions.load(plan.questions_file)
    if plan.max_questions is not None:
        asked = asked[: plan.max_questions]
    kb = client.get_knowledge_base(plan.kb)
    chosen = modes.choose(kb, plan.modes, plan.adapter)
    say(f"evaluating {plan.kb}: {len(asked)} questions × {len(chosen)} modes ({', '.join(chosen)})")
    with tqdm(total=len(asked) * len(chosen), unit="answer", leave=False) as bar:

        def advance(mode: str) -> None:
            bar.set_description(mode)
            bar.update(1)

        measured = runner.run(
            client,
            plan.kb,
            asked,
            chosen,
            adapter=plan.adapter,
            top_k=plan.top_k,
            max_tokens=plan.max_tokens,
            advance=advance,
        )
    fresh: list[Fresh] = []
    if plan.freshness:
        say("freshness check: a probe document changes; asking each mode until it answers anew")
        fresh = freshness.check(
            client, plan.kb, chosen, adapter=plan.adapter, timeout_s=plan.freshness_timeout_s
        )
    summaries: list[ModeSummary] = [
        summarise_mode(name, [m for m in measured if m.mode == name], plan.prices)
        for name in chosen
    ]
    about = report.About(
        knowledge_base=plan.kb,
        questions_file=str(plan.questions_file),
        questions=len(asked),
        out_of_corpus=sum(not q.in_corpus for q in asked),
        generator=kb.generator,
        when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        prices=(
            f"{plan.prices.prompt_per_1k} per 1k prompt tokens, "
            f"{plan.prices.completion_per_1k} per 1k completion tokens"
        ),
    )
    written = report.write(plan.out, about, measured, summaries, fresh)
    if plan.summary is not None:
        plan.summary.write_text(report.summary_document(about, summaries, fresh), encoding="utf-8")
        written.append(plan.summary)
    say("")
    say(markdown_table(summaries))
    say("")
    for line in recommend(summaries):
        say(line.replace("**", ""))
    if fresh:
        for line in report.freshness_table(fresh):
            say(line)
    say("")
    say("wrote " + ", ".join(str(p) for p in written))
    return written
