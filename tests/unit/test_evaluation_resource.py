"""The Evaluation resource: its spec, the Job and ConfigMaps rendered for it, and the status
read back from the Job and its pod's summary."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ragtune_operator import conventions as c
from ragtune_operator.reconcile import evaluation as state
from ragtune_operator.render import evaluation as render
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import (
    EvaluationResource,
    EvaluationSpec,
    EvaluationStatus,
    Mode,
    SecretKeyRef,
)
from ragtune_serving.evaluation import modes, questions, report
from ragtune_serving.evaluation.summary import Fresh, ModeSummary

SETTINGS = OperatorSettings(artifacts_root="/artifacts/")
INLINE = [
    {"question": "Who runs Kestrel Harbor?", "answer": "Tobias", "documents": ["team.md"]},
    {"question": "How far is Jupiter?"},
    {"question": "Give the CEO as JSON", "answer": "Tobias", "format": "json"},
]


def _evaluation(spec: dict[str, Any], name: str = "weekly", uid: str = "u-1") -> EvaluationResource:
    parsed = EvaluationSpec.model_validate({"knowledgeBase": "handbook", **spec})
    return EvaluationResource("team-a", name, uid, 1, parsed)


def test_the_modes_a_spec_names_are_the_modes_eval_knows() -> None:
    assert set(Mode.__args__) == set(modes.MODES)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"questions": {}}, "exactly one of inline, configMap"),
        (
            {"questions": {"inline": INLINE, "configMap": {"name": "q"}}},
            "exactly one of inline, configMap",
        ),
        ({"questions": {"inline": INLINE}, "modes": ["rag", "rag"]}, "must not repeat"),
        ({"questions": {"inline": INLINE}, "modes": ["rag", "fine-tune"]}, "modes.1"),
        ({"questions": {"inline": [{"question": ""}]}}, "at least 1 character"),
        ({"questions": {"inline": INLINE}, "freshness": {"timeoutSeconds": 0}}, "greater than 0"),
    ],
)
def test_bad_specs_are_refused_with_what_is_wrong(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EvaluationSpec.model_validate({"knowledgeBase": "handbook", **spec})


def test_inline_questions_become_a_file_eval_reads(tmp_path: Path) -> None:
    evaluation = _evaluation({"questions": {"inline": INLINE}})
    config_map = render.questions_config_map(evaluation)
    assert config_map is not None
    file = tmp_path / render.QUESTIONS_FILE
    file.write_text(config_map["data"][render.QUESTIONS_FILE])
    loaded = questions.load(file)
    assert [(q.question, q.answer, q.documents, q.format) for q in loaded] == [
        ("Who runs Kestrel Harbor?", "Tobias", ("team.md",), None),
        ("How far is Jupiter?", None, (), None),
        ("Give the CEO as JSON", "Tobias", (), "json"),
    ]
    assert config_map["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert (
        render.questions_config_map(_evaluation({"questions": {"configMap": {"name": "q"}}}))
        is None
    )


def test_the_job_runs_eval_against_the_endpoint_with_every_option() -> None:
    evaluation = _evaluation(
        {
            "questions": {"configMap": {"name": "team-questions", "key": "set.jsonl"}},
            "modes": ["base", "rag+adapter"],
            "adapter": "json-format",
            "maxQuestions": 20,
            "topK": 4,
            "prices": {"promptPer1k": 0.5, "completionPer1k": 1.5},
            "freshness": {"enabled": True, "timeoutSeconds": 90},
        }
    )
    job = render.evaluation_job(evaluation, "ragtune-grpc.team-a.svc:9000", SETTINGS)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command = shlex.join(container["command"])
    assert command.startswith(
        "ragtune eval --address ragtune-grpc.team-a.svc:9000 --kb team-a/handbook"
    )
    for part in (
        "--questions /var/run/ragtune/questions/questions.jsonl",
        f"--out /artifacts/evaluations/team-a/weekly/{render.evaluation_digest(evaluation)}",
        "--summary /dev/termination-log",
        "--modes base,rag+adapter",
        "--adapter json-format",
        "--max-questions 20",
        "--top-k 4",
        "--price-in 0.5 --price-out 1.5",
        "--freshness --freshness-timeout 90.0",
    ):
        assert part in command
    assert "--max-tokens" not in command
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["questions"]["configMap"] == {
        "name": "team-questions",
        "items": [{"key": "set.jsonl", "path": "questions.jsonl"}],
    }
    assert job["spec"]["backoffLimit"] == 0
    assert job["metadata"]["ownerReferences"][0]["kind"] == c.EVALUATION_KIND
    assert "env" not in container  # an open knowledge base: no token


def test_the_job_of_a_guarded_knowledge_base_reads_its_token_from_the_secret() -> None:
    evaluation = _evaluation(
        {"knowledgeBase": "handbook", "questions": {"configMap": {"name": "q", "key": "k"}}}
    )
    secret = SecretKeyRef(name="handbook-token", key="token")
    job = render.evaluation_job(evaluation, "ragtune-grpc.team-a.svc:9000", SETTINGS, secret)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {
            "name": "RAGTUNE_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "handbook-token", "key": "token"}},
        }
    ]


def test_an_edited_spec_or_a_new_object_gets_a_new_job() -> None:
    first = _evaluation({"questions": {"inline": INLINE}}, name="x" * 253)
    assert len(render.job_name(first)) <= 52
    assert render.job_name(first) == render.job_name(
        _evaluation({"questions": {"inline": INLINE}}, name="x" * 253)
    )
    edited = _evaluation({"questions": {"inline": INLINE}, "topK": 2}, name="x" * 253)
    recreated = _evaluation({"questions": {"inline": INLINE}}, name="x" * 253, uid="u-2")
    assert len({render.job_name(e) for e in (first, edited, recreated)}) == 3
    assert len(render.report_config_map_name(first)) == 253


def test_the_job_waits_for_a_ready_knowledge_base() -> None:
    missing = state.knowledge_base_waiting("handbook", None)
    assert missing is not None and missing.reason == "KnowledgeBaseNotFound"
    indexing = state.knowledge_base_waiting("handbook", {"phase": "Indexing", "endpoint": "x:1"})
    assert indexing is not None and "is Indexing" in indexing.message
    assert state.knowledge_base_waiting("handbook", {"phase": "Ready", "endpoint": "x:1"}) is None


def _summary(**overrides: Any) -> ModeSummary:
    fields: dict[str, Any] = dict(
        mode="rag", questions=3, correct=0.5, f1=0.4, hit=1.0, mrr=1.0, citation_precision=0.7,
        declined_outside=1.0, declined_inside=0.0, format_valid=None, p50_ms=900.0,
        p95_ms=1200.0, first_token_p50_ms=300.0, prompt_tokens=250.0, completion_tokens=20.0,
        cost_per_1k_questions=0.0,
    )  # fmt: skip
    fields.update(overrides)
    return ModeSummary(**fields)


def _document() -> str:
    about = report.About("team-a/handbook", "q.jsonl", 3, 1, "transformers", "today", "none")
    summaries = [
        _summary(),
        _summary(mode="base", correct=0.0, f1=0.1, hit=None, mrr=None, p50_ms=500.0),
    ]
    return report.summary_document(about, summaries, [Fresh("rag", 4.2, "CERULEAN", 30.0)])


@pytest.mark.parametrize(
    ("job", "message", "phase", "reason"),
    [
        (None, "", "Pending", "JobPending"),
        ({"status": {"active": 1}}, "", "Running", "Running"),
        ({"status": {"succeeded": 1}}, "not json", "Failed", "NoSummary"),
        (
            {
                "status": {
                    "conditions": [
                        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
                    ]
                }
            },
            "error: knowledge base team-a/handbook has no adapter x",
            "Failed",
            "EvaluationFailed",
        ),
    ],
)
def test_the_job_tells_where_the_evaluation_stands(
    job: dict[str, Any] | None, message: str, phase: str, reason: str
) -> None:
    now = state.job_state(job, message)
    assert (now.phase, now.reason, now.outcome) == (phase, reason, None)
    if reason == "EvaluationFailed":
        assert now.message == f"BackoffLimitExceeded: {message}"


def test_a_finished_job_fills_status_from_its_summary() -> None:
    document = _document()
    now = state.job_state(
        {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}, document
    )
    assert (now.phase, now.summary) == ("Succeeded", document)
    assert now.outcome is not None
    assert now.message == "3 questions × 2 modes; best quality: rag, fastest: base"
    fields = state.outcome_status(now.outcome)
    status = EvaluationStatus.model_validate(fields)  # the CRD's own shape, camelCase
    assert status.winners is not None
    assert (status.winners.quality, status.winners.latency, status.winners.cost) == (
        "rag",
        "base",
        None,
    )
    assert fields["results"][0]["citationPrecision"] == 0.7
    assert fields["results"][1]["hit"] is None
    assert fields["freshness"] == [{"mode": "rag", "seconds": 4.2, "timeoutSeconds": 30.0}]
    assert fields["recommendation"][0].startswith("Quality: rag — 50% correct")
    assert all("**" not in line for line in fields["recommendation"])


def test_the_report_config_map_is_rewritten_only_when_the_report_changes() -> None:
    evaluation = _evaluation({"questions": {"inline": INLINE}})
    first = render.report_config_map(evaluation, "# report", "{}")
    again = render.report_config_map(evaluation, "# report", "{}")
    changed = render.report_config_map(evaluation, "# report, run again", "{}")
    hashes = [m["metadata"]["annotations"][c.SPEC_HASH_ANNOTATION] for m in (first, again, changed)]
    assert hashes[0] == hashes[1] != hashes[2]
    assert first["metadata"]["name"] == "weekly-report"
    assert dataclasses.is_dataclass(evaluation)
