"""`ragtune eval`'s per-mode summary, recommendation and table, from made-up measurements."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ragtune_serving.evaluation import report
from ragtune_serving.evaluation.questions import Question
from ragtune_serving.evaluation.scoring import Score
from ragtune_serving.evaluation.summary import (
    Fresh,
    Measured,
    ModeSummary,
    Prices,
    markdown_table,
    percentile,
    recommend,
    summarise,
)

INSIDE = Question(1, "Who is the CEO?", "Tobias", ("a.md",))
OUTSIDE = Question(2, "How far is Jupiter?", None, ())


def _measured(
    mode: str, question: Question, *, correct: bool, declined: bool, total_ms: float
) -> Measured:
    inside = question.in_corpus
    score = Score(
        correct=correct if inside else None,
        f1=(1.0 if correct else 0.0) if inside else None,
        hit=True if inside and mode.startswith("rag") else None,
        reciprocal_rank=1.0 if inside and mode.startswith("rag") else None,
        citation_precision=None,
        declined=declined,
        format_valid=None,
    )
    return Measured(mode, question, score, total_ms, total_ms / 4, 300, 20)


def test_percentiles_interpolate() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([], 50) == 0.0


def test_a_summary_separates_answerable_from_out_of_corpus_questions() -> None:
    measured = [
        _measured("rag", INSIDE, correct=True, declined=False, total_ms=100),
        _measured("rag", INSIDE, correct=False, declined=True, total_ms=300),
        _measured("rag", OUTSIDE, correct=False, declined=True, total_ms=200),
    ]
    summary = summarise("rag", measured, Prices(prompt_per_1k=0.01, completion_per_1k=0.03))
    assert summary.questions == 3
    assert summary.correct == 0.5 and summary.f1 == 0.5
    assert summary.declined_outside == 1.0 and summary.declined_inside == 0.5
    assert summary.hit == 1.0 and summary.citation_precision is None
    assert summary.p50_ms == 200
    # 1000 questions × (300 × 0.01 + 20 × 0.03) / 1000 tokens
    assert summary.cost_per_1k_questions == pytest.approx(3.6)


def test_the_recommendation_names_the_winner_of_each_axis() -> None:
    rag = summarise(
        "rag",
        [
            _measured("rag", INSIDE, correct=True, declined=False, total_ms=900),
            _measured("rag", OUTSIDE, correct=False, declined=True, total_ms=900),
        ],
        Prices(),
    )
    base = summarise(
        "base",
        [
            _measured("base", INSIDE, correct=False, declined=False, total_ms=300),
            _measured("base", OUTSIDE, correct=False, declined=False, total_ms=300),
        ],
        Prices(),
    )
    lines = recommend([base, rag])
    assert lines[0].startswith("Quality: **rag** — 100% correct")
    assert lines[1] == "Latency: **base** — p50 300 ms (rag: 900 ms)."
    assert lines[2] == "Cost: no token prices given (--price-in, --price-out)."
    assert len(lines) == 3  # no format line: no question asked for JSON
    table = markdown_table([base, rag])
    assert table.splitlines()[2].startswith("| base | 0% |")
    assert table.splitlines()[3].startswith("| rag | 100% |")


def test_the_report_writes_its_table_raw_results_and_chart(tmp_path: Path) -> None:
    measured = [
        _measured("rag", INSIDE, correct=True, declined=False, total_ms=900),
        _measured("base", INSIDE, correct=False, declined=False, total_ms=300),
    ]
    summaries = [summarise(m.mode, [m], Prices()) for m in measured]
    about = report.About("team/docs", "q.jsonl", 1, 0, "transformers on cpu", "today", "none")
    written = report.write(tmp_path / "out", about, measured, summaries)
    assert [p.name for p in written] == ["report.md", "results.json", "quality-vs-latency.png"]
    text = (tmp_path / "out" / "report.md").read_text()
    assert text.startswith("# Evaluation of team/docs")
    assert "| rag | 100% |" in text and "- Quality: **rag**" in text
    assert "![quality vs latency](quality-vs-latency.png)" in text
    raw = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [m["mode"] for m in raw["measurements"]] == ["rag", "base"]
    assert raw["measurements"][0]["score"]["correct"] is True
    assert (tmp_path / "out" / "quality-vs-latency.png").read_bytes()[:4] == b"\x89PNG"


def test_the_freshness_section_says_who_caught_up_and_when() -> None:
    fresh = [
        Fresh("rag", 1.26, "The code is SAFFRON.", 60),
        Fresh("base", None, "I don't know", 60),
    ]
    lines = report.freshness_lines(fresh)
    assert "| rag | after 1.3 s |" in lines and "| base | not within 60 s |" in lines
    assert report.freshness_lines([]) == []


def _about(**overrides: object) -> report.About:
    fields: dict[str, object] = dict(
        knowledge_base="team/docs",
        questions_file="q.jsonl",
        questions=2,
        out_of_corpus=1,
        generator="transformers on cpu",
        when="2026-11-26 10:00 UTC",
        prices="none",
    )
    fields.update(overrides)
    return report.About(**fields)  # type: ignore[arg-type]


def test_the_summary_document_prints_the_same_report_as_the_measurements() -> None:
    measured = [
        _measured("rag", INSIDE, correct=True, declined=False, total_ms=812.3456),
        _measured("base", INSIDE, correct=False, declined=False, total_ms=400.1),
    ]
    summaries = [
        summarise(mode, [m for m in measured if m.mode == mode], Prices())
        for mode in ("rag", "base")
    ]
    fresh = [Fresh("rag", 2.345678, "The code is SAFFRON." * 10, 30.0)]
    text = report.summary_document(_about(), summaries, fresh)
    outcome = report.read_summary(text)
    assert outcome.about == _about()
    assert [s.mode for s in outcome.summaries] == ["rag", "base"]
    assert outcome.summaries[0].p50_ms == pytest.approx(812.3456, abs=1e-4)
    assert outcome.fresh[0].seconds == pytest.approx(2.3457)
    assert len(outcome.fresh[0].last_answer) == report.ANSWER_CHARS
    assert report.markdown(outcome.about, outcome.summaries, False, outcome.fresh) == (
        report.markdown(_about(), summaries, False, fresh)
    )


def test_the_summary_document_fits_a_termination_message_at_its_largest() -> None:
    """Every mode, every field set to a long number, every free text at its longest."""
    worst = ModeSummary(
        "rag+rewrite",
        123456,
        *([0.123456789] * 8),
        *([123456.789] * 6),  # type: ignore[arg-type]
    )
    modes = ("base", "rag", "adapter", "rag+adapter", "rag+rewrite", "rag+rerank")
    summaries = [dataclasses.replace(worst, mode=mode) for mode in modes]
    fresh = [Fresh(mode, 1234.56789, "é" * 500, 3600.0) for mode in modes]
    about = _about(
        knowledge_base="n" * 63 + "/" + "k" * 253,
        questions_file="q" * 500,
        generator="g" * 500,
        prices="p" * 500,
    )
    text = report.summary_document(about, summaries, fresh)
    assert len(text.encode()) <= report.SUMMARY_LIMIT
    assert len(report.read_summary(text).summaries) == 6


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "JSONDecodeError"),
        ("{}", "KeyError"),
        ('{"about": {}, "columns": [], "modes": []}', "TypeError"),
    ],
)
def test_a_summary_that_is_not_one_says_so(text: str, what: str) -> None:
    with pytest.raises(ValueError, match=f"not an evaluation summary \\({what}"):
        report.read_summary(text)
