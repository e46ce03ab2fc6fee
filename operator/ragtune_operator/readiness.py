"""An Adapter's status, and its training job.

An adapter with `training` first gets a Job (a RayJob with KubeRay) running `ragtune train`
(Pending → Training); once it completes, its output directory and final loss go into status
and it is served like a sourced adapter. Ready only once a serving replica of a knowledge base
that uses it reports a probe through it succeeded; Failed with the job's or the replica's
reason — never on the strength of its spec alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from ragtune_operator import convergence as cv
from ragtune_operator.clients import gateway, kube
from ragtune_operator.reconcile import status as st
from ragtune_operator.reconcile import training as training_state
from ragtune_operator.render import serveconfig, training
from ragtune_operator.specs import AdapterResource, AdapterSpec


def adapter_status(
    namespace: str, name: str, body: kopf.Body, indexes: cv.Indexes
) -> dict[str, Any]:
    """The status fields that changed: phase, the Ready condition, `loadedBy`, `artifact`."""
    knowledge_bases, adapters = indexes
    observed = cv.seen(body)
    users: list[str] = []
    trained: dict[str, Any] = {}
    try:
        spec = AdapterSpec.model_validate(observed.spec)
    except ValidationError as error:
        verdict, phase = st.Verdict("False", "InvalidSpec", cv.validation_message(error)), "Failed"
    else:
        adapter = AdapterResource(namespace, name, observed.uid, observed.generation, spec)
        state = _training(adapter, observed.status) if spec.training is not None else None
        if state is not None and state.phase == "Trained":
            trained = {
                "artifact": training.artifact_path(adapter, cv.SETTINGS),
                "finalLoss": state.final_loss,
                "datasetLinesSkipped": state.skipped_lines,
            }
        kbs, _invalid = cv.parse_kbs(namespace, knowledge_bases.get(namespace, []))
        served = cv.parse_adapters(namespace, adapters.get(namespace, []))
        served = [a for a in served if a.name != name]
        served.append(
            replace(adapter, artifact=cv.artifact_of(adapter, {**observed.status, **trained}))
        )
        try:
            access = cv.read_access(namespace, kbs)
        except kube.KubeError:
            access = {}  # knowledge bases that need a token then count as not served
        plan = serveconfig.plan(kbs, cv.SETTINGS, served, access)
        users = sorted(kb for kb, names in plan.uses.items() if name in names)
        if state is not None and state.phase != "Trained":
            verdict = st.Verdict("False", state.reason, state.message)
            phase = {"Pending": "Pending", "Training": "Training"}.get(state.phase, "Failed")
        else:
            asked = next((kb for kb in kbs if users and kb.name == users[0]), None)
            token = cv.kb_token_or_none(namespace, asked.spec) if asked else None
            verdict, phase = _verdict(namespace, name, users, token)
            if state is not None and verdict.status != "True":
                verdict = st.Verdict(
                    verdict.status, verdict.reason, f"{state.message}; {verdict.message}"
                )
    before = observed.status
    conditions = before.get("conditions") or []
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [st.condition("Ready", verdict, observed.generation, conditions, cv.now())],
        "observedGeneration": observed.generation,
        "loadedBy": users if phase == "Ready" else [],
    }
    if phase != "Failed" and observed.spec.get("source"):
        status["artifact"] = observed.spec["source"].get("path")
    status.update(trained)
    return {key: value for key, value in status.items() if before.get(key) != value}


def _training(adapter: AdapterResource, status: dict[str, Any]) -> training_state.TrainingState:
    """Where the adapter's training stands: from its status once the training of this spec is
    recorded there (the job may be gone by then: it is never run twice), else from its Job or
    RayJob, which is created if it is missing."""
    if cv.artifact_of(adapter, status) is not None:
        return training_state.trained(status.get("finalLoss"), status.get("datasetLinesSkipped"))
    try:
        manifest = training.training_manifest(adapter, cv.SETTINGS)
    except training.TrainingRefused as error:
        return training_state.TrainingState("Failed", "TrainingRefused", str(error))
    kind, name = manifest["kind"], manifest["metadata"]["name"]
    now = datetime.now(UTC)
    try:
        job = kube.read(kind, adapter.namespace, name)
        if job is None:
            kube.apply(manifest)
            return training_state.training_state(None, "", now)
        message = kube.termination_message(adapter.namespace, name) if job.get("status") else ""
    except kube.KubeError as error:
        return training_state.TrainingState("Pending", "JobUnreachable", str(error))
    return training_state.training_state({"kind": kind, **job}, message, now)


def _verdict(
    namespace: str, name: str, users: list[str], token: str | None
) -> tuple[st.Verdict, str]:
    """Asks the gateway through the first knowledge base using the adapter (with its `token`)."""
    if not users:
        message = "no served knowledge base references it; it loads when one does"
        return st.Verdict("False", "Unused", message), "Pending"
    try:
        info = gateway.describe(
            cv.SETTINGS.gateway_for(namespace), namespace, users[0], token=token
        )
    except (gateway.GatewayUnreachable, gateway.GatewayError) as error:
        message = f"the serving replicas cannot be asked yet: {error}"
        return st.Verdict("False", "Loading", message), "Pending"
    return adapter_verdict(name, info.get("adapters", []), users)


def adapter_verdict(
    name: str, reports: list[dict[str, Any]], users: list[str]
) -> tuple[st.Verdict, str]:
    """Ready, Failed or still loading, from the adapter reports GetKnowledgeBase returns."""
    report = next((r for r in reports if r.get("name") == name), None)
    state = (report or {}).get("state", "")
    if state == "ADAPTER_STATE_READY":
        message = f"a probe through it succeeded on a serving replica of {', '.join(users)}"
        return st.Verdict("True", "Loaded", message), "Ready"
    if state == "ADAPTER_STATE_FAILED":
        reason = (report or {}).get("reason") or "no reason given"
        return st.Verdict("False", "LoadFailed", reason), "Failed"
    return st.Verdict("False", "Loading", "the serving replicas have not loaded it yet"), "Pending"
