"""A KnowledgeBase's status from what the operator observed: phase and conditions.

Conditions follow the Kubernetes API conventions: `Indexed` (its documents are in Milvus as the
spec says), `Serving` (the Serve application that answers for it runs), and `Ready` (both, and
nothing refused it). Each carries the generation it describes, a CamelCase reason and a
message; `lastTransitionTime` moves only when a condition's status changes. Pure: the handlers
gather the facts, this module decides what they mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]
Phase = Literal["Pending", "Indexing", "Ready", "Failed"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One condition's status with its reason and message."""

    status: ConditionStatus
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What the operator saw for one knowledge base in one pass."""

    generation: int
    refused: str  # why the namespace plan leaves it out; empty when it is served
    serving: Verdict
    indexed: Verdict
    pending_adapters: tuple[str, ...] = ()  # referenced, nothing to load yet


def condition(
    type_: str,
    verdict: Verdict,
    generation: int,
    previous: Sequence[Mapping[str, Any]],
    now: str,
) -> dict[str, Any]:
    """A condition, keeping the previous transition time when its status did not change."""
    before = next((c for c in previous if c.get("type") == type_), None)
    unchanged = before is not None and before.get("status") == verdict.status
    return {
        "type": type_,
        "status": verdict.status,
        "reason": verdict.reason,
        "message": verdict.message,
        "observedGeneration": generation,
        "lastTransitionTime": (before or {}).get("lastTransitionTime") if unchanged else now,
    }


def ready(facts: Facts) -> Verdict:
    """Ready: served, serving and indexed; otherwise the first thing in the way."""
    if facts.refused:
        return Verdict("False", "Refused", facts.refused)
    for name, verdict in (("Serving", facts.serving), ("Indexed", facts.indexed)):
        if verdict.status != "True":
            return Verdict("False", f"Not{name}", f"{verdict.reason}: {verdict.message}")
    if facts.pending_adapters:
        names = ", ".join(facts.pending_adapters)
        return Verdict(
            "True",
            "ReadyWithoutAdapters",
            f"answering from its indexed documents; adapter(s) {names} not ready yet, "
            "answers are generated without them until they are",
        )
    return Verdict("True", "Ready", "answering queries from its indexed documents")


PROBLEMS = ("SourceUnavailable", "IngestFailed", "DuplicateDocuments", "PartlyIndexed")


def is_problem(facts: Facts) -> bool:
    """Whether the user has something to fix (a Warning), rather than something to wait for."""
    return bool(
        facts.refused or facts.serving.reason.endswith("Failed") or facts.indexed.reason in PROBLEMS
    )


def phase(facts: Facts) -> Phase:
    """Failed while the user has something to fix; else how far it got."""
    if is_problem(facts):
        return "Failed"
    if facts.serving.status == "True" and facts.indexed.status == "True":
        return "Ready"
    if facts.serving.status == "True":
        return "Indexing"
    return "Pending"


def conditions(
    facts: Facts, previous: Sequence[Mapping[str, Any]], now: str
) -> list[dict[str, Any]]:
    """The three conditions, in a stable order."""
    verdicts = (("Indexed", facts.indexed), ("Serving", facts.serving), ("Ready", ready(facts)))
    return [condition(t, v, facts.generation, previous, now) for t, v in verdicts]


def transitions(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """Conditions whose status or reason changed: what is worth an Event."""
    old = {c.get("type"): (c.get("status"), c.get("reason")) for c in before}
    return [c for c in after if old.get(c["type"]) != (c["status"], c["reason"])]


def serving_from_rayservice(rayservice: Mapping[str, Any] | None) -> Verdict:
    """Serving, as KubeRay reports it on the namespace's RayService."""
    if rayservice is None:
        return Verdict("False", "Deploying", "the RayService does not exist yet")
    observed = rayservice.get("status") or {}
    for cond in observed.get("conditions") or ():
        if cond.get("type") == "Ready":
            if cond.get("status") == "True":
                return Verdict("True", "Running", "the RayService serves its application")
            message = cond.get("message") or cond.get("reason") or "not ready"
            return Verdict("False", "Deploying", f"RayService: {message}")
    if observed.get("serviceStatus") == "Running":
        return Verdict("True", "Running", "the RayService serves its application")
    return Verdict("False", "Deploying", "KubeRay has not reported the RayService ready yet")


def serving_from_application(application: Mapping[str, Any] | None) -> Verdict:
    """Serving, as the Ray dashboard reports the Serve application (direct mode)."""
    if application is None:
        return Verdict("False", "Deploying", "the Serve application is not on the cluster yet")
    state = str(application.get("status") or "UNKNOWN")
    message = str(application.get("message") or "").strip()
    if state == "RUNNING":
        return Verdict("True", "Running", "the Serve application is RUNNING")
    if state == "DEPLOY_FAILED":
        return Verdict("False", "DeployFailed", message or "the Serve application failed")
    return Verdict("False", "Deploying", f"the Serve application is {state}. {message}".strip())
