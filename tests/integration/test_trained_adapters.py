"""Adapters trained for real by `ragtune train`, served side by side by one deployment.

- a format adapter makes answers parse as {"answer": ..., "sources": [...]} on held-out
  questions, which the base model never does, and `ragtune eval` measures it so;
- one knowledge base answers the same question in all four modes, each visibly different;
- a query-rewrite adapter and a rerank adapter, each trained on internal codenames that the
  documents never mention, raise the mean reciprocal rank of the right document on held-out
  questions (tests/data/retrieval).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import cli, local, raydashboard
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.config import PACKAGED_EMBEDDING, PACKAGED_GENERATOR, AdapterArgs
from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data"
FACTS_KB = "itest/facts"
SYSTEMS_KB = "itest/systems"
READY_TIMEOUT_S = 300.0
TOP_K = 5


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def served(
    stack: Settings,
    client: RagClient,
    format_adapter: Path,
    rewrite_adapter: Path,
    rerank_adapter: Path,
) -> Iterator[None]:
    """The three trained adapters on the session's deployment, and their knowledge bases."""
    adapters = {
        "json-format": AdapterArgs(path=str(format_adapter), base_model=PACKAGED_GENERATOR),
        "codenames-rewrite": AdapterArgs(
            path=str(rewrite_adapter), base_model=PACKAGED_GENERATOR, purpose="query-rewrite"
        ),
        "codenames-rerank": AdapterArgs(
            path=str(rerank_adapter), base_model=PACKAGED_EMBEDDING, purpose="rerank"
        ),
    }
    config = local.serve_config(stack, local.app_args(stack), adapters)
    raydashboard.put_config(stack.dashboard_url, config)
    facts = [
        pb.Document(id=row["id"], content=row["document"].encode())
        for row in _rows(DATA / "format" / "heldout.jsonl")
    ]
    systems = [
        pb.Document(id=row["id"], content=row["text"].encode())
        for row in _rows(DATA / "retrieval" / "corpus.jsonl")
    ]
    client.ingest(pb.IngestRequest(knowledge_base=FACTS_KB, documents=facts))
    client.ingest(pb.IngestRequest(knowledge_base=SYSTEMS_KB, documents=systems))
    _wait_until_ready(client, set(adapters))
    yield
    raydashboard.put_config(stack.dashboard_url, local.serve_config(stack, local.app_args(stack)))
    raydashboard.wait_running(stack.dashboard_url, [local.APP_NAME], READY_TIMEOUT_S)


def _wait_until_ready(client: RagClient, names: set[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        reports = client.get_knowledge_base(FACTS_KB).adapters
        states = {a.name: pb.AdapterState.Name(a.state) for a in reports}
        if all(states.get(n) == "ADAPTER_STATE_READY" for n in names):
            return
        assert "ADAPTER_STATE_FAILED" not in states.values(), reports
        time.sleep(1.0)
    raise AssertionError(f"adapters not ready in time: {states}")


def _is_format(answer: str) -> bool:
    try:
        parsed = json.loads(answer)
    except json.JSONDecodeError:
        return False
    return (
        isinstance(parsed, dict)
        and isinstance(parsed.get("answer"), str)
        and isinstance(parsed.get("sources"), list)
    )


def test_the_format_adapter_makes_held_out_answers_parse_as_json(
    client: RagClient, served: None
) -> None:
    heldout = _rows(DATA / "format" / "heldout.jsonl")
    with_adapter = without = 0
    correct = 0
    for row in heldout:
        ask = pb.QueryRequest(knowledge_base=FACTS_KB, question=row["question"], max_tokens=48)
        plain = client.query(pb.QueryRequest(mode=pb.MODE_RAG, **_fields(ask)))
        tuned = client.query(pb.QueryRequest(adapter="json-format", **_fields(ask)))
        assert tuned.mode == pb.MODE_RAG_ADAPTER and tuned.adapter == "json-format"
        without += _is_format(plain.answer)
        if _is_format(tuned.answer):
            with_adapter += 1
            correct += row["answer"].lower() in json.loads(tuned.answer)["answer"].lower()
    n = len(heldout)
    print(
        f"JSON answers: {with_adapter}/{n} with the adapter, {without}/{n} without; "
        f"{correct} with the right answer"
    )
    assert with_adapter >= 0.75 * n
    assert without <= 0.25 * n
    assert correct >= 0.5 * n  # the format did not cost the answers their facts


def test_eval_finds_the_format_adapter_wins_format_validity(
    stack: Settings, served: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "format.jsonl"
    rows = _rows(DATA / "format" / "heldout.jsonl")[:6]
    questions.write_text(
        "".join(
            json.dumps(
                {
                    "question": r["question"],
                    "answer": r["answer"],
                    "documents": [r["id"]],
                    "format": "json",
                }
            )
            + "\n"
            for r in rows
        )
    )
    out = tmp_path / "report"
    args = ["eval", "--kb", FACTS_KB, "--questions", str(questions), "--out", str(out)]
    options = ["--modes", "rag,rag+adapter", "--adapter", "json-format", "--max-tokens", "48"]
    assert cli.main([*args, *options, "--address", stack.address]) == 0
    summaries = {s["mode"]: s for s in json.loads((out / "results.json").read_text())["summaries"]}
    assert summaries["rag+adapter"]["format_valid"] > summaries["rag"]["format_valid"]
    assert "Format: **rag+adapter**" in (out / "report.md").read_text()
    assert "Format: rag+adapter" in capsys.readouterr().out


def _fields(request: pb.QueryRequest) -> dict[str, object]:
    return {
        "knowledge_base": request.knowledge_base,
        "question": request.question,
        "max_tokens": request.max_tokens,
    }


def test_one_knowledge_base_answers_in_all_four_modes(client: RagClient, served: None) -> None:
    (row,) = _rows(DATA / "format" / "heldout.jsonl")[:1]
    answers = {}
    for mode in (pb.MODE_BASE, pb.MODE_RAG, pb.MODE_ADAPTER, pb.MODE_RAG_ADAPTER):
        adapter = "json-format" if mode in (pb.MODE_ADAPTER, pb.MODE_RAG_ADAPTER) else ""
        reply = client.query(
            pb.QueryRequest(
                knowledge_base=FACTS_KB,
                question=row["question"],
                mode=mode,
                adapter=adapter,
                max_tokens=48,
            )
        )
        assert reply.mode == mode and reply.adapter == adapter
        retrieved = mode in (pb.MODE_RAG, pb.MODE_RAG_ADAPTER)
        assert bool(reply.citations) == retrieved
        if retrieved:
            assert reply.citations[0].document_id == row["id"]
        answers[pb.Mode.Name(mode)] = reply.answer
    print(json.dumps(answers, indent=2))
    assert len(set(answers.values())) == 4
    assert _is_format(answers["MODE_RAG_ADAPTER"])
    assert not _is_format(answers["MODE_BASE"]) and not _is_format(answers["MODE_RAG"])
    assert row["answer"].lower() in answers["MODE_RAG_ADAPTER"].lower()


def _mrr(client: RagClient, **fields: object) -> float:
    heldout = _rows(DATA / "retrieval" / "heldout.jsonl")
    total = 0.0
    for row in heldout:
        reply = client.query(
            pb.QueryRequest(
                knowledge_base=SYSTEMS_KB,
                question=row["question"],
                mode=pb.MODE_RAG,
                top_k=TOP_K,
                max_tokens=1,
                score_threshold=-1.0,
                **fields,  # type: ignore[arg-type]
            )
        )
        ranked = [c.document_id for c in reply.citations]
        if row["relevant"] in ranked:
            total += 1.0 / (ranked.index(row["relevant"]) + 1)
    return total / len(heldout)


def test_query_rewriting_and_reranking_each_raise_mrr(client: RagClient, served: None) -> None:
    plain = _mrr(client)
    rewritten = _mrr(client, rewrite_adapter="codenames-rewrite")
    reranked = _mrr(client, rerank_adapter="codenames-rerank", rerank_candidates=20)
    print(
        f"MRR@{TOP_K} on held-out codename questions: plain {plain:.3f}, "
        f"rewrite {rewritten:.3f}, rerank {reranked:.3f}"
    )
    assert rewritten >= plain + 0.2
    assert reranked >= plain + 0.2


def test_rewrite_and_rerank_show_in_the_reply(client: RagClient, served: None) -> None:
    reply = client.query(
        pb.QueryRequest(
            knowledge_base=SYSTEMS_KB,
            question="Which team owns Falcon?",
            max_tokens=1,
            rewrite_adapter="codenames-rewrite",
            rerank_adapter="codenames-rerank",
        )
    )
    assert "payroll" in reply.rewritten_question.lower()
    assert reply.reranked
    assert reply.timing.rewrite_ms > 0 and reply.timing.rerank_ms > 0
    assert reply.citations[0].document_id == "payroll-service.md"


def test_unknown_and_misused_adapters_are_clear_errors(client: RagClient, served: None) -> None:
    # "q" finds nothing in the knowledge base: the adapters are checked before any stage runs
    ask = {"knowledge_base": FACTS_KB, "question": "q"}
    cases = [
        (pb.QueryRequest(adapter="nope", **ask), "NOT_FOUND", "'nope' is not served here"),
        (
            pb.QueryRequest(rerank_adapter="json-format", **ask),
            "INVALID_ARGUMENT",
            "'json-format' is a generation adapter, not a rerank one",
        ),
        (
            pb.QueryRequest(rewrite_adapter="codenames-rerank", **ask),
            "INVALID_ARGUMENT",
            "'codenames-rerank' is a rerank adapter, not a query-rewrite one",
        ),
        (
            pb.QueryRequest(mode=pb.MODE_ADAPTER, **ask),
            "INVALID_ARGUMENT",
            "needs a generation adapter",
        ),
    ]
    for request, code, message in cases:
        with pytest.raises(ClientError) as caught:
            client.query(request)
        assert caught.value.code.name == code
        assert message in caught.value.message
