"""`ragtune eval`'s per-mode summary, recommendation and table, from made-up measurements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune_serving.evaluation import report
from ragtune_serving.evaluation.freshness import Fresh
from ragtune_serving.evaluation.questions import Question
from ragtune_serving.evaluation.scoring import Score
from ragtune_serving.evaluation.summary import (
    Measured,
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
