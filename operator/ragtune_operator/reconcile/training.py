"""Where an Adapter's training stands, from its Job or RayJob and the termination message its
pod left. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

TrainingPhase = Literal["Pending", "Training", "Trained", "Failed"]
MESSAGE_CHARS = 600
REPORT_GRACE_S = 120.0  # a RayJob's submitter copies the metrics after the Ray job succeeded


@dataclass(frozen=True, slots=True)
class TrainingState:
    """The training's phase, a reason and message for the Ready condition, and its metrics."""

    phase: TrainingPhase
    reason: str
    message: str
    final_loss: float | None = None
    skipped_lines: int | None = None


def trained(final_loss: float | None, skipped_lines: int | None) -> TrainingState:
    """A finished training, with what its metrics said."""
    shown = f"final loss {final_loss:.4f}" if final_loss is not None else "no metrics"
    return TrainingState(
        "Trained",
        "Trained",
        f"trained ({shown}; {skipped_lines or 0} dataset lines skipped); loading it for serving",
        final_loss,
        skipped_lines,
    )


def training_state(
    found: dict[str, Any] | None, termination_message: str, now: datetime
) -> TrainingState:
    """Pending (nothing created yet), Training, Trained (with the final loss) or Failed (with
    why), from a Job or a RayJob as the API serves it."""
    if found is None:
        return TrainingState("Pending", "JobPending", "the training job is being created")
    if found.get("kind") == "RayJob":
        return _rayjob_state(found.get("status") or {}, termination_message, now)
    return _job_state(found.get("status") or {}, termination_message)


def _job_state(status: dict[str, Any], termination_message: str) -> TrainingState:
    conditions = {
        c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    if "Complete" in conditions or (status.get("succeeded") or 0) > 0:
        return _trained(termination_message)
    if "Failed" in conditions:
        failed = conditions["Failed"]
        why = failed.get("message") or failed.get("reason") or "the Job failed"
        return _failed(why, termination_message)
    running = status.get("active") or 0
    return TrainingState(
        "Training", "Training", f"the training Job is running ({running} pod(s) active)"
    )


def _rayjob_state(status: dict[str, Any], termination_message: str, now: datetime) -> TrainingState:
    """KubeRay's `jobDeploymentStatus` says whether the RayJob is over (Complete or Failed;
    Retrying is not), `jobStatus` how the Ray job ended."""
    deployment = status.get("jobDeploymentStatus") or ""
    job = status.get("jobStatus") or ""
    if job == "SUCCEEDED":
        if termination_message or _seconds_since(status.get("endTime"), now) > REPORT_GRACE_S:
            return _trained(termination_message)
        return TrainingState(
            "Training", "Training", "the Ray job succeeded; waiting for its metrics report"
        )
    if deployment in ("Complete", "Failed"):
        why = status.get("message") or status.get("reason") or f"the Ray job ended {job}"
        return _failed(why, termination_message)
    shown = f"{deployment or 'Initializing'}, Ray job {job or 'not submitted yet'}"
    return TrainingState("Training", "Training", f"the training RayJob is running ({shown})")


def _trained(termination_message: str) -> TrainingState:
    metrics = _metrics(termination_message)
    loss, skipped = metrics.get("final_loss"), metrics.get("skipped_lines")
    return trained(
        float(loss) if isinstance(loss, int | float) else None,
        skipped if isinstance(skipped, int) else None,
    )


def _failed(why: str, termination_message: str) -> TrainingState:
    tail = termination_message.strip()[-MESSAGE_CHARS:]
    return TrainingState("Failed", "TrainingFailed", f"{why}: {tail}" if tail else why)


def _seconds_since(timestamp: Any, now: datetime) -> float:
    """Seconds from an RFC 3339 timestamp to `now`; infinite when there is none to read."""
    try:
        then = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    return (now - (then if then.tzinfo else then.replace(tzinfo=UTC))).total_seconds()


def _metrics(message: str) -> dict[str, Any]:
    try:
        parsed = json.loads(message)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
