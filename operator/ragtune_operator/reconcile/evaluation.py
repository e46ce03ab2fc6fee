"""Where an Evaluation stands, from its knowledge base, its Job and the summary the Job's pod
left in its termination message; and the status fields its outcome fills. Pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from ragtune_operator.specs import (
    EvaluationWinners,
    FreshnessResult,
    ModeResult,
)
from ragtune_serving.evaluation.report import Outcome, read_summary
from ragtune_serving.evaluation.summary import recommend, winners

EvaluationPhase = Literal["Pending", "Running", "Succeeded", "Failed"]
MESSAGE_CHARS = 600


@dataclass(frozen=True, slots=True)
class EvaluationState:
    """The phase, a reason and message for the Complete condition, and the outcome once
    there is one."""

    phase: EvaluationPhase
    reason: str
    message: str
    outcome: Outcome | None = None
    summary: str = ""  # the summary document the outcome was read from


def knowledge_base_waiting(name: str, status: dict[str, Any] | None) -> EvaluationState | None:
    """Pending while the knowledge base is missing or not Ready (its answers would measure a
    half-built index); None once it can be evaluated."""
    if status is None:
        return EvaluationState(
            "Pending",
            "KnowledgeBaseNotFound",
            f"no KnowledgeBase {name} in this namespace; the evaluation starts once it is Ready",
        )
    if status.get("phase") != "Ready" or not status.get("endpoint"):
        return EvaluationState(
            "Pending",
            "WaitingForKnowledgeBase",
            f"knowledge base {name} is {status.get('phase') or 'not reconciled yet'}; "
            "the evaluation starts once it is Ready",
        )
    return None


def job_state(job: dict[str, Any] | None, termination_message: str) -> EvaluationState:
    """Pending (no Job yet), Running, Succeeded (with the outcome) or Failed (with why), from
    the Job as the API serves it and its pod's termination message."""
    if job is None:
        return EvaluationState("Pending", "JobPending", "the evaluation Job is being created")
    status = job.get("status") or {}
    conditions = {
        c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    if "Complete" in conditions or (status.get("succeeded") or 0) > 0:
        try:
            outcome = read_summary(termination_message)
        except ValueError as error:
            return EvaluationState(
                "Failed", "NoSummary", f"the Job succeeded but left no readable summary: {error}"
            )
        return EvaluationState(
            "Succeeded", "Evaluated", _headline(outcome), outcome, termination_message
        )
    if "Failed" in conditions:
        failed = conditions["Failed"]
        why = failed.get("message") or failed.get("reason") or "the Job failed"
        tail = termination_message.strip()[-MESSAGE_CHARS:]
        return EvaluationState("Failed", "EvaluationFailed", f"{why}: {tail}" if tail else why)
    running = status.get("active") or 0
    return EvaluationState(
        "Running", "Running", f"the evaluation Job is running ({running} pod(s) active)"
    )


def _headline(outcome: Outcome) -> str:
    won = winners(outcome.summaries)
    if won is None:
        return "evaluated no modes"
    return (
        f"{outcome.about.questions} questions × {len(outcome.summaries)} modes; "
        f"best quality: {won.quality}, fastest: {won.latency}"
    )


def outcome_status(outcome: Outcome) -> dict[str, Any]:
    """The status fields an outcome fills: results per mode, winners, recommendation and
    freshness, in the CRD's camelCase."""
    won = winners(outcome.summaries)
    results = [
        ModeResult.model_validate(asdict(summary)).model_dump(by_alias=True)
        for summary in outcome.summaries
    ]
    fresh = [
        FreshnessResult(mode=f.mode, seconds=f.seconds, timeout_seconds=f.timeout_s).model_dump(
            by_alias=True
        )
        for f in outcome.fresh
    ]
    return {
        "results": results,
        "winners": (
            None if won is None else EvaluationWinners.model_validate(asdict(won)).model_dump()
        ),
        "recommendation": [line.replace("**", "") for line in recommend(outcome.summaries)],
        "freshness": fresh,
    }
