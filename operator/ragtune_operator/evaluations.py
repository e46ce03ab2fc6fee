"""An Evaluation's run and status.

Once its knowledge base is Ready, an Evaluation gets a Job running `ragtune eval` against the
knowledge base's gRPC endpoint (Pending → Running); when the Job ends, the summary its pod left
in the termination message becomes status (results per mode, winners, recommendation,
freshness) and a ConfigMap holding the report. It runs once per spec: a finished one is not
looked at again until its spec changes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import kopf
from pydantic import ValidationError

from ragtune_operator import convergence as cv
from ragtune_operator.clients import kube
from ragtune_operator.reconcile import evaluation as state
from ragtune_operator.reconcile import status as st
from ragtune_operator.render import evaluation as render
from ragtune_operator.specs import (
    EvaluationResource,
    EvaluationSpec,
    KnowledgeBaseSpec,
    SecretKeyRef,
)
from ragtune_serving.evaluation.report import markdown

FINISHED = ("Succeeded", "Failed")
COMPLETE: dict[state.EvaluationPhase, Literal["True", "False", "Unknown"]] = {
    "Pending": "Unknown",
    "Running": "Unknown",
    "Succeeded": "True",
    "Failed": "False",
}


def evaluation_status(
    namespace: str, name: str, body: kopf.Body, knowledge_bases: kopf.Index[str, cv.Seen]
) -> dict[str, Any]:
    """The status fields that changed; none once the current spec's run has finished."""
    observed = cv.seen(body)
    before = observed.status
    if before.get("observedGeneration") == observed.generation and before.get("phase") in FINISHED:
        return {}
    fields: dict[str, Any] = {}
    try:
        spec = EvaluationSpec.model_validate(observed.spec)
    except ValidationError as error:
        now = state.EvaluationState("Failed", "InvalidSpec", cv.validation_message(error))
    else:
        evaluation = EvaluationResource(namespace, name, observed.uid, observed.generation, spec)
        now, fields = _run(evaluation, knowledge_bases)
    verdict = st.Verdict(COMPLETE[now.phase], now.reason, now.message)
    previous = before.get("conditions") or []
    complete = st.condition("Complete", verdict, observed.generation, previous, cv.now())
    status: dict[str, Any] = {
        "phase": now.phase,
        "conditions": [complete],
        "observedGeneration": observed.generation,
        **fields,
    }
    if now.phase in FINISHED:
        status["completedAt"] = cv.now()
        post = kopf.info if now.phase == "Succeeded" else kopf.warn
        post(body, reason=now.reason, message=now.message)
    return {key: value for key, value in status.items() if before.get(key) != value}


def _run(
    evaluation: EvaluationResource, knowledge_bases: kopf.Index[str, cv.Seen]
) -> tuple[state.EvaluationState, dict[str, Any]]:
    """Follow the Job (creating it once the knowledge base is Ready); on success, write the
    report ConfigMap. Returns the state and the status fields besides phase and conditions."""
    namespace, job = evaluation.namespace, render.job_name(evaluation)
    fields: dict[str, Any] = {
        "job": job,
        "artifacts": render.artifacts_dir(evaluation, cv.SETTINGS),
    }
    try:
        found = kube.read("Job", namespace, job)
        if found is None:
            return _start(evaluation, knowledge_bases), fields
        message = kube.termination_message(namespace, job) if found.get("status") else ""
        now = state.job_state(found, message)
        if now.outcome is not None:
            about = replace(now.outcome.about, questions_file=render.questions_source(evaluation))
            report = markdown(about, now.outcome.summaries, False, now.outcome.fresh)
            config_map = render.report_config_map(evaluation, report, now.summary)
            kube.apply(config_map)
            fields["reportConfigMap"] = config_map["metadata"]["name"]
            fields.update(state.outcome_status(now.outcome))
    except kube.KubeError as error:
        return state.EvaluationState("Pending", "JobUnreachable", str(error)), fields
    return now, fields


def _start(
    evaluation: EvaluationResource, knowledge_bases: kopf.Index[str, cv.Seen]
) -> state.EvaluationState:
    """Create the Job (and the ConfigMap of inline questions) once the knowledge base is
    Ready and the questions exist."""
    kb_name = evaluation.spec.knowledge_base
    kb = next(
        (
            kb
            for kb in knowledge_bases.get(evaluation.namespace, [])
            if kb.name == kb_name and not kb.deleting
        ),
        None,
    )
    status = None if kb is None else kb.status
    waiting = state.knowledge_base_waiting(kb_name, status)
    if waiting is not None:
        return waiting
    endpoint = str((status or {})["endpoint"])
    source = evaluation.spec.questions.config_map
    if source is not None:
        found = kube.config_map(evaluation.namespace, source.name)
        if found is None or source.key not in found[0]:
            return state.EvaluationState(
                "Pending",
                "QuestionsNotFound",
                f"no key {source.key!r} in ConfigMap {source.name}; create it with the "
                "questions as JSON Lines",
            )
    inline = render.questions_config_map(evaluation)
    if inline is not None:
        kube.apply(inline)
    token = _token_secret(kb.spec if kb is not None else {})
    kube.apply(render.evaluation_job(evaluation, endpoint, cv.SETTINGS, token))
    return state.EvaluationState("Running", "JobCreated", "the evaluation Job was created")


def _token_secret(kb_spec: dict[str, Any]) -> SecretKeyRef | None:
    """The Secret key holding the knowledge base's bearer token, if it requires one."""
    try:
        return KnowledgeBaseSpec.model_validate(kb_spec).access.token_secret_ref
    except ValidationError:
        return None
