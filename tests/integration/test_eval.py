"""`ragtune eval` on the real stack: the shipped questions asked in base and rag modes through
gRPC; RAG beats the base model on answers and retrieval, declines what the corpus does not hold,
answers with a changed fact where the base model cannot (the freshness check), and the report,
raw results and chart say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune_serving import cli
from ragtune_serving.client import RagClient
from ragtune_serving.evaluation.modes import ready_adapters
from ragtune_serving.settings import Settings

QUESTIONS = Path(__file__).resolve().parents[2] / "examples" / "questions.jsonl"

pytestmark = pytest.mark.integration


def test_eval_measures_rag_above_the_base_model_on_the_sample_questions(
    stack: Settings,
    client: RagClient,
    corpus_kb: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    documents_before = client.get_knowledge_base(corpus_kb).documents
    out = tmp_path / "report"
    code = cli.main(
        [
            "eval",
            "--kb",
            corpus_kb,
            "--questions",
            str(QUESTIONS),
            "--modes",
            "base,rag",
            "--max-tokens",
            "48",
            "--price-in",
            "0.5",
            "--out",
            str(out),
            "--freshness",
            "--freshness-timeout",
            "20",
            "--address",
            stack.address,
        ]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    by_mode = {s["mode"]: s for s in results["summaries"]}
    base, rag = by_mode["base"], by_mode["rag"]
    assert rag["correct"] > base["correct"]
    assert rag["hit"] >= 0.8 and rag["mrr"] > 0.5  # the expected document is retrieved
    assert base["hit"] is None  # no retrieval, no retrieval score
    assert rag["declined_outside"] >= base["declined_outside"]
    assert rag["cost_per_1k_questions"] > base["cost_per_1k_questions"]  # context costs tokens
    asked = results["about"]["questions"]
    assert len(results["measurements"]) == 2 * asked
    fresh = {f["mode"]: f for f in results["freshness"]}
    assert fresh["rag"]["seconds"] is not None and fresh["rag"]["seconds"] < 20
    assert fresh["base"]["seconds"] is None  # no retrieval: it cannot learn the change
    assert client.get_knowledge_base(corpus_kb).documents == documents_before  # probe gone
    report = (out / "report.md").read_text()
    assert "| mode | correct |" in report and "Quality: **rag**" in report
    assert "| base | not within 20 s |" in report
    assert (out / "quality-vs-latency.png").read_bytes().startswith(b"\x89PNG")
    printed = capsys.readouterr().out
    assert "Quality: rag" in printed and "| rag |" in printed


def test_eval_refuses_a_mode_the_knowledge_base_cannot_serve(
    stack: Settings,
    client: RagClient,
    corpus_kb: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "rerank" not in ready_adapters(client.get_knowledge_base(corpus_kb))  # precondition
    args = ["eval", "--kb", corpus_kb, "--questions", str(QUESTIONS), "--address", stack.address]
    assert cli.main([*args, "--modes", "rag,rag+rerank", "--out", str(tmp_path)]) == 1
    assert "mode 'rag+rerank' needs a ready rerank adapter" in capsys.readouterr().err
    assert cli.main([*args, "--modes", "rag,fancy", "--out", str(tmp_path)]) == 1
    assert "unknown mode 'fancy'" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()
