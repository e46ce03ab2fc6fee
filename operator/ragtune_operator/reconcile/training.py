"""Where an Adapter's training stands, from its Job and the Job's termination message. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

TrainingPhase = Literal["Pending", "Training", "Trained", "Failed"]
MESSAGE_CHARS = 600


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


def training_state(job: dict[str, Any] | None, termination_message: str) -> TrainingState:
    """Pending (no Job yet), Training, Trained (with the final loss) or Failed (with why)."""
    if job is None:
        return TrainingState("Pending", "JobPending", "the training Job is being created")
    status = job.get("status") or {}
    conditions = {
        c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    if "Complete" in conditions or (status.get("succeeded") or 0) > 0:
        metrics = _metrics(termination_message)
        loss, skipped = metrics.get("final_loss"), metrics.get("skipped_lines")
        return trained(
            float(loss) if isinstance(loss, int | float) else None,
            skipped if isinstance(skipped, int) else None,
        )
    if "Failed" in conditions:
        failed = conditions["Failed"]
        why = failed.get("message") or failed.get("reason") or "the Job failed"
        tail = termination_message.strip()[-MESSAGE_CHARS:]
        return TrainingState("Failed", "TrainingFailed", f"{why}: {tail}" if tail else why)
    running = status.get("active") or 0
    return TrainingState(
        "Training", "Training", f"the training Job is running ({running} pod(s) active)"
    )


def _metrics(message: str) -> dict[str, Any]:
    try:
        parsed = json.loads(message)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
