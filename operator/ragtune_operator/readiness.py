"""An Adapter's status: Ready once a serving replica of a knowledge base that uses it reports a
probe through it succeeded; Failed with the replica's reason when loading failed for good —
never on the strength of its spec alone."""

from __future__ import annotations

from typing import Any

import kopf
from pydantic import ValidationError

from ragtune_operator import convergence as cv
from ragtune_operator.clients import gateway
from ragtune_operator.reconcile import status as st
from ragtune_operator.render import serveconfig
from ragtune_operator.specs import AdapterSpec


def adapter_status(
    namespace: str, name: str, body: kopf.Body, indexes: cv.Indexes
) -> dict[str, Any]:
    """The status fields that changed: phase, the Ready condition, `loadedBy`, `artifact`."""
    knowledge_bases, adapters = indexes
    observed = cv.seen(body)
    users: list[str] = []
    try:
        spec = AdapterSpec.model_validate(observed.spec)
    except ValidationError as error:
        verdict, phase = st.Verdict("False", "InvalidSpec", cv.validation_message(error)), "Failed"
    else:
        kbs, _invalid = cv.parse_kbs(namespace, knowledge_bases.get(namespace, []))
        served = cv.parse_adapters(namespace, adapters.get(namespace, []))
        plan = serveconfig.plan(kbs, cv.SETTINGS, served)
        users = sorted(kb for kb, names in plan.uses.items() if name in names)
        verdict, phase = _verdict(namespace, name, spec, users)
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
    return {key: value for key, value in status.items() if before.get(key) != value}


def _verdict(
    namespace: str, name: str, spec: AdapterSpec, users: list[str]
) -> tuple[st.Verdict, str]:
    if spec.source is None:
        message = "training by the operator is not available in this version"
        return st.Verdict("False", "TrainingUnavailable", message), "Pending"
    if not users:
        message = "no served knowledge base references it; it loads when one does"
        return st.Verdict("False", "Unused", message), "Pending"
    try:
        info = gateway.describe(cv.SETTINGS.gateway_for(namespace), namespace, users[0])
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
