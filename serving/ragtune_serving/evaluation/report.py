"""An evaluation's outputs: `report.md` (the table and the recommendation), `results.json`
(every raw measurement and the summaries) and `quality-vs-latency.png`; and the summary
document, small enough for a Kubernetes termination message, from which the Evaluation
resource's operator prints the same report. Pure but for `write`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ragtune_serving.evaluation.summary import (
    Fresh,
    Measured,
    ModeSummary,
    markdown_table,
    recommend,
)

REPORT = "report.md"
RESULTS = "results.json"
CHART = "quality-vs-latency.png"
SUMMARY_LIMIT = 4096  # bytes: what a Kubernetes termination message holds
TEXT_CHARS = 160  # of a free-text field in the summary document
ANSWER_CHARS = 60


@dataclass(frozen=True, slots=True)
class About:
    """What was evaluated, for the report's header."""

    knowledge_base: str
    questions_file: str
    questions: int
    out_of_corpus: int
    generator: str
    when: str
    prices: str


def freshness_table(fresh: Sequence[Fresh]) -> list[str]:
    """How long each mode took to answer with a changed fact, one row per mode."""
    lines = ["| mode | answers the changed fact |", "|---|---|"]
    for f in fresh:
        late = f"not within {f.timeout_s:.0f} s"
        after = late if f.seconds is None else f"after {f.seconds:.1f} s"
        lines.append(f"| {f.mode} | {after} |")
    return lines


def freshness_lines(fresh: Sequence[Fresh]) -> list[str]:
    """The freshness section of the report; none without a freshness check."""
    if not fresh:
        return []
    return [
        "## Freshness",
        "",
        "A probe document was ingested, then changed and re-ingested; each mode was asked until "
        "it answered with the changed fact.",
        "",
        *freshness_table(fresh),
        "",
    ]


def markdown(
    about: About, summaries: Sequence[ModeSummary], chart: bool, fresh: Sequence[Fresh] = ()
) -> str:
    """The report: header, table, recommendation, freshness, how to read it."""
    lines = [
        f"# Evaluation of {about.knowledge_base}",
        "",
        f"{about.when}; {about.questions} questions from `{about.questions_file}` "
        f"({about.out_of_corpus} the knowledge base cannot answer); generator: "
        f"{about.generator or 'not reported'}; prices: {about.prices}.",
        "",
        markdown_table(summaries),
        "",
        "## Recommendation",
        "",
        *[f"- {line}" for line in recommend(summaries)],
        "",
        *freshness_lines(fresh),
        "## Reading the table",
        "",
        "- correct: the expected answer appears in the answer (case, punctuation and articles "
        "aside), over answerable questions; F1: token overlap with it.",
        "- hit@k, MRR: the expected documents among the retrieved chunks (retrieving modes).",
        "- citation precision: of the chunks the answer cites (or, citing none, all the sources "
        "it gives), those from an expected document or holding the answer.",
        "- declines out-of-corpus: higher is better; declines answerable: lower is better.",
        "- latency: the service's own total per question; cost: tokens × the prices given.",
    ]
    if chart:
        lines += ["", f"![quality vs latency]({CHART})"]
    return "\n".join(lines) + "\n"


def write(
    out: Path,
    about: About,
    measured: Sequence[Measured],
    summaries: Sequence[ModeSummary],
    fresh: Sequence[Fresh] = (),
) -> list[Path]:
    """Write the report, the raw results and (with matplotlib) the chart into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    chart = _chart(out / CHART, summaries)
    if chart:
        written.append(out / CHART)
    (out / REPORT).write_text(markdown(about, summaries, chart, fresh), encoding="utf-8")
    raw = {
        "about": asdict(about),
        "summaries": [asdict(s) for s in summaries],
        "freshness": [asdict(f) for f in fresh],
        "measurements": [
            {
                "mode": m.mode,
                "line": m.question.line,
                "question": m.question.question,
                "expected": m.question.answer,
                "answer": m.answer,
                "score": asdict(m.score),
                "total_ms": m.total_ms,
                "first_token_ms": m.first_token_ms,
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
            }
            for m in measured
        ],
    }
    (out / RESULTS).write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    return [out / REPORT, out / RESULTS, *written]


def _chart(path: Path, summaries: Sequence[ModeSummary]) -> bool:
    """Correct share against p50 latency, one point per mode. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return False
    figure, axes = pyplot.subplots(figsize=(6, 4))
    for s in summaries:
        axes.scatter(s.p50_ms, 100 * (s.correct or 0.0))
        axes.annotate(
            s.mode, (s.p50_ms, 100 * (s.correct or 0.0)), textcoords="offset points", xytext=(5, 5)
        )
    axes.set_xlabel("p50 latency (ms)")
    axes.set_ylabel("correct answers (%)")
    axes.set_ylim(-5, 105)
    axes.set_title("Quality vs latency per mode")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return True


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an evaluation found, less the raw measurements: enough to print its report."""

    about: About
    summaries: tuple[ModeSummary, ...]
    fresh: tuple[Fresh, ...] = ()


MODE_COLUMNS = tuple(ModeSummary.__dataclass_fields__)


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def summary_document(
    about: About, summaries: Sequence[ModeSummary], fresh: Sequence[Fresh] = ()
) -> str:
    """Compact JSON of the outcome, at most SUMMARY_LIMIT bytes: a table of per-mode numbers
    (rounded) and the header, free text cut to TEXT_CHARS. Six modes fit with room to spare."""
    shown = {
        key: value[:TEXT_CHARS] if isinstance(value, str) else value
        for key, value in asdict(about).items()
    }
    document = {
        "about": shown,
        "columns": list(MODE_COLUMNS),
        "modes": [[_rounded(getattr(s, c)) for c in MODE_COLUMNS] for s in summaries],
        "freshness": [
            [f.mode, _rounded(f.seconds), f.timeout_s, f.last_answer[:ANSWER_CHARS]] for f in fresh
        ],
    }
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) > SUMMARY_LIMIT:
        raise ValueError(
            f"the summary takes {len(text.encode())} bytes, over {SUMMARY_LIMIT}: "
            "evaluate fewer modes at once"
        )
    return text


def read_summary(text: str) -> Outcome:
    """The outcome a summary document holds; ValueError saying what is missing or malformed."""
    try:
        document = json.loads(text)
        columns = document["columns"]
        about = About(**document["about"])
        summaries = tuple(
            ModeSummary(**dict(zip(columns, row, strict=True))) for row in document["modes"]
        )
        fresh = tuple(
            Fresh(mode=mode, seconds=seconds, last_answer=answer, timeout_s=timeout)
            for mode, seconds, timeout, answer in document.get("freshness", [])
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not an evaluation summary ({type(error).__name__}: {error})") from error
    return Outcome(about, summaries, fresh)
