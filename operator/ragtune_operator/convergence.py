"""What the operator does for each event, between kopf and the clients: plan a namespace and
apply the plan, bring a knowledge base's index and status up to date, drop its collection,
judge an adapter. Decisions come from render/ and reconcile/ (pure); I/O goes through clients/.

Every KnowledgeBase or Adapter event re-plans its namespace (one Serve application serves all of
a namespace's knowledge bases) and applies the plan idempotently; a timer per knowledge base
re-checks serving, re-ingests when its documents changed and rewrites its status, so status
converges to the truth even when nothing in the spec moves (KubeRay finishing a rollout, a
ConfigMap edit, a replica restart).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import kopf
from pydantic import ValidationError

from ragtune_operator import conventions as c
from ragtune_operator.clients import fetching, gateway, kube, raydashboard
from ragtune_operator.reconcile import documents as docs
from ragtune_operator.reconcile import status as st
from ragtune_operator.reconcile.changes import classify
from ragtune_operator.render import rayservice as rs
from ragtune_operator.render import serveconfig, training
from ragtune_operator.settings import OperatorSettings, load_settings
from ragtune_operator.specs import (
    AdapterResource,
    AdapterSpec,
    KnowledgeBaseResource,
    KnowledgeBaseSpec,
)
from ragtune_serving.config import KnowledgeBaseAccess

SETTINGS: OperatorSettings = load_settings()
APP_NAME = "ragtune"  # the Serve application's name (build_serve_config's default)
COSTS = {
    "in-place": "replicas are reconfigured or rolled, the Ray cluster stays",
    "reindex": "a new collection is built beside the old one, then the alias is swapped",
    "cluster": "KubeRay brings up a new Ray cluster and switches over when it serves",
}

_namespace_locks: dict[str, threading.Lock] = {}
_object_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()
_ingested: dict[str, str] = {}  # knowledge base uid → digest of its last successful ingest


def use_settings(settings: OperatorSettings) -> None:
    """Replace the settings read from the environment (the CLI's `--direct`)."""
    global SETTINGS
    SETTINGS = settings


def _lock(table: dict[Any, threading.Lock], key: Any) -> threading.Lock:
    with _locks_guard:
        return table.setdefault(key, threading.Lock())


def now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class Seen:
    """An object as the in-memory index holds it: identity, raw spec and status."""

    name: str
    uid: str
    generation: int
    spec: dict[str, Any]
    status: dict[str, Any]
    deleting: bool


def seen(body: kopf.Body) -> Seen:
    meta = body.get("metadata") or {}
    return Seen(
        name=str(meta.get("name")),
        uid=str(meta.get("uid") or ""),
        generation=int(meta.get("generation") or 1),
        spec=dict(body.get("spec") or {}),
        status=dict(body.get("status") or {}),
        deleting=bool(meta.get("deletionTimestamp")),
    )


Indexes = tuple["kopf.Index[str, Seen]", "kopf.Index[str, Seen]"]


def parse_kbs(
    namespace: str, items: Iterable[Seen]
) -> tuple[list[KnowledgeBaseResource], dict[str, str]]:
    parsed, invalid = [], {}
    for item in items:
        if item.deleting:
            continue
        try:
            spec = KnowledgeBaseSpec.model_validate(item.spec)
        except ValidationError as error:
            invalid[item.name] = validation_message(error)
            continue
        parsed.append(KnowledgeBaseResource(namespace, item.name, item.uid, item.generation, spec))
    return parsed, invalid


def parse_adapters(namespace: str, items: Iterable[Seen]) -> list[AdapterResource]:
    parsed = []
    for item in items:
        if item.deleting:
            continue
        try:
            spec = AdapterSpec.model_validate(item.spec)
        except ValidationError:
            continue  # reported on the Adapter itself; references to it fail as missing
        adapter = AdapterResource(namespace, item.name, item.uid, item.generation, spec)
        parsed.append(replace(adapter, artifact=artifact_of(adapter, item.status)))
    return parsed


def artifact_of(adapter: AdapterResource, status: dict[str, Any]) -> str | None:
    """The directory serving loads `adapter` from: its source, or the output of its training
    once that training (of the current spec) finished."""
    if adapter.spec.source is not None:
        return adapter.spec.source.path
    trained = status.get("artifact")
    return trained if trained == training.artifact_path(adapter, SETTINGS) else None


def validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "spec"
    return f"spec.{where}: {first['msg']}"


def read_access(
    namespace: str, kbs: Iterable[KnowledgeBaseResource]
) -> dict[str, KnowledgeBaseAccess]:
    """Knowledge base name → the bearer token its `access.tokenSecretRef` names (as a
    digest), for those whose Secret holds a non-empty token (surrounding whitespace, as a
    file's last newline, is not part of it). Read on every reconcile, so a rotated token
    takes effect at the next resync."""
    found = {}
    for kb in kbs:
        token = kb_token(namespace, kb.spec)
        if token:
            found[kb.name] = KnowledgeBaseAccess.for_token(token)
    return found


def kb_token(namespace: str, spec: KnowledgeBaseSpec) -> str | None:
    """The bearer token a knowledge base requires (the operator sends it with its own calls
    to the gateway for it), or None when it requires none or its Secret holds none."""
    ref = spec.access.token_secret_ref
    if ref is None:
        return None
    return (kube.secret_value(namespace, ref.name, ref.key) or "").strip() or None


def kb_token_or_none(namespace: str, spec: KnowledgeBaseSpec | dict[str, Any]) -> str | None:
    """kb_token, for calls that go on without it: an unreadable Secret or spec makes the
    gateway answer UNAUTHENTICATED, which the caller reports."""
    try:
        parsed = KnowledgeBaseSpec.model_validate(spec)
        return kb_token(namespace, parsed)
    except (ValidationError, kube.KubeError):
        return None


def apply_namespace(
    namespace: str, kb_index: kopf.Index[str, Seen], adapter_index: kopf.Index[str, Seen]
) -> serveconfig.ServePlan:
    """Plan the namespace and make the cluster serve that plan; returns the plan."""
    kbs, invalid = parse_kbs(namespace, kb_index.get(namespace, []))
    adapter_list = parse_adapters(namespace, adapter_index.get(namespace, []))
    try:
        access = read_access(namespace, kbs)
    except kube.KubeError as error:
        raise kopf.TemporaryError(f"reading access tokens: {error}", delay=10) from error
    plan = serveconfig.plan(kbs, SETTINGS, adapter_list, access)
    plan.refused.update(invalid)
    served = [kb for kb in kbs if kb.name in plan.served]
    with _lock(_namespace_locks, namespace):
        try:
            _apply(namespace, plan, served)
        except (kube.KubeError, raydashboard.DashboardError) as error:
            raise kopf.TemporaryError(f"applying the namespace plan: {error}", delay=10) from error
    return plan


def _apply(
    namespace: str, plan: serveconfig.ServePlan, served: list[KnowledgeBaseResource]
) -> None:
    if plan.args is None:
        if SETTINGS.direct:
            if raydashboard.application(SETTINGS.direct_dashboard_url, APP_NAME) is not None:
                raydashboard.remove(SETTINGS.direct_dashboard_url)
        else:
            # Each on its own: an operator stopped between the two deletes must not leave the
            # Service behind on its next pass.
            rendered: tuple[tuple[kube.Kind, str], ...] = (
                ("RayService", c.RAYSERVICE_NAME),
                ("Service", c.GRPC_SERVICE_NAME),
            )
            for kind, name in rendered:
                if kube.read(kind, namespace, name) is not None:
                    kube.delete(kind, namespace, name)
        return
    config = serveconfig.serve_config(plan, SETTINGS)
    if SETTINGS.direct:
        raydashboard.apply(SETTINGS.direct_dashboard_url, config)
        return
    generator = served[0].spec.generator
    kube.apply(
        rs.rayservice(
            namespace, config, generator, served, SETTINGS, mount_artifacts=plan.needs_artifacts
        )
    )
    kube.apply(rs.grpc_service(namespace, served, SETTINGS))


def _serving(namespace: str) -> st.Verdict:
    try:
        if SETTINGS.direct:
            app = raydashboard.application(SETTINGS.direct_dashboard_url, APP_NAME)
            return st.serving_from_application(app)
        return st.serving_from_rayservice(kube.rayservice(namespace))
    except (kube.KubeError, raydashboard.DashboardError) as error:
        return st.Verdict("Unknown", "ServingUnknown", str(error))


def _endpoint(namespace: str) -> str:
    """The gRPC address clients of this namespace's knowledge bases call."""
    if SETTINGS.direct:
        host = urlsplit(SETTINGS.gateway_for(namespace)).hostname
        return f"{host}:{SETTINGS.grpc_port}"
    return rs.endpoint(namespace, SETTINGS)


def announce_change(body: kopf.Body, old: Any, new: Any) -> None:
    try:
        change = classify(
            KnowledgeBaseSpec.model_validate(dict(old)), KnowledgeBaseSpec.model_validate(dict(new))
        )
    except ValidationError:
        return  # the new spec's problem is reported in status by converge()
    if change.kind == "none":
        return
    reason = "".join(part.capitalize() for part in change.kind.split("-")) + "Change"
    kopf.info(body, reason=reason, message=f"{change.reason}; {COSTS[change.kind]}")


def converge(
    namespace: str,
    name: str,
    body: kopf.Body,
    patch: kopf.Patch,
    kb_index: kopf.Index[str, Seen],
    adapter_index: kopf.Index[str, Seen],
    logger: kopf.Logger,
    *,
    wait: bool = True,
) -> None:
    """Serve the namespace's plan, bring this knowledge base's index up to date, write status.

    With `wait=False` (the resync timer) a pass already running for this knowledge base (a
    long ingest) is not queued behind: the next tick sees its result.
    """
    lock = _lock(_object_locks, (namespace, name))
    if not lock.acquire(blocking=wait):
        return
    try:
        _converge(namespace, name, body, patch, kb_index, adapter_index, logger)
    finally:
        lock.release()


def _converge(
    namespace: str,
    name: str,
    body: kopf.Body,
    patch: kopf.Patch,
    kb_index: kopf.Index[str, Seen],
    adapter_index: kopf.Index[str, Seen],
    logger: kopf.Logger,
) -> None:
    observed = seen(body)
    plan = apply_namespace(namespace, kb_index, adapter_index)
    refused = plan.refused.get(name, "")
    before: dict[str, Any] = dict(observed.status)
    status: dict[str, Any] = {}
    if refused:
        serving = st.Verdict("False", "Refused", refused)
        indexed = st.Verdict("Unknown", "Refused", "not indexed while refused")
        status.update(endpoint=None, adapters=[])
    else:
        serving = _serving(namespace)
        spec = KnowledgeBaseSpec.model_validate(observed.spec)
        token = kb_token_or_none(namespace, spec)
        if serving.status == "True":
            serving = _observe(namespace, name, plan, status, token) or serving
        indexed = _index(observed, namespace, spec, serving, before, status, body, logger, token)
        status["endpoint"] = _endpoint(namespace)
    facts = st.Facts(observed.generation, refused, serving, indexed, plan.pending.get(name, ()))
    conditions = st.conditions(facts, before.get("conditions") or [], now())
    status.update(
        phase=st.phase(facts), conditions=conditions, observedGeneration=observed.generation
    )
    for changed in st.transitions(before.get("conditions") or [], conditions):
        if changed["type"] == "Ready":
            post = kopf.warn if st.is_problem(facts) else kopf.info
            post(body, reason=changed["reason"], message=changed["message"])
    for key, value in status.items():
        if before.get(key) != value:
            patch.status[key] = value


def _index(
    observed: Seen,
    namespace: str,
    spec: KnowledgeBaseSpec,
    serving: st.Verdict,
    before: dict[str, Any],
    status: dict[str, Any],
    body: kopf.Body,
    logger: kopf.Logger,
    token: str | None,
) -> st.Verdict:
    """Ingest when the documents or index settings changed since the last ingest, or when
    Milvus lost what was ingested (it reports no documents while the sources have some)."""
    name = observed.name
    try:
        found = fetching.documents(spec, namespace, name, paths_root=SETTINGS.path_sources_root)
    except (fetching.SourceUnavailable, kube.KubeError) as error:
        return st.Verdict("False", "SourceUnavailable", str(error))
    duplicates = docs.duplicate_ids(found)
    if duplicates:
        return st.Verdict(
            "False", "DuplicateDocuments", f"document ids appear twice: {', '.join(duplicates)}"
        )
    settings = docs.index_settings(spec)
    digest = docs.digest(found, {**settings, "milvus": spec.vector_store.uri})
    done = digest in (before.get("indexedDigest"), _ingested.get(observed.uid))
    lost = found and status.get("documents") == 0
    if done and not lost:
        status["indexedDigest"] = digest
        return st.Verdict("True", "Indexed", _counts({**before, **status}))
    if serving.status != "True":
        return st.Verdict("False", "WaitingForServing", "documents are ingested once it serves")
    request = {
        "knowledgeBase": c.knowledge_base_address(namespace, name),
        "documents": list(found),
        "prune": True,
        "reindex": True,
        "settings": settings,
    }
    try:
        reply = gateway.ingest(
            SETTINGS.gateway_for(namespace), request, SETTINGS.request_timeout_s, token
        )
    except gateway.GatewayUnreachable as error:
        return st.Verdict("False", "GatewayUnreachable", str(error))
    except gateway.GatewayError as error:
        return st.Verdict("False", "IngestFailed", str(error))
    _ingested[observed.uid] = digest
    status["indexedDigest"] = digest
    status["lastIngested"] = now()
    _observe(namespace, name, None, status, token)
    message = _ingest_summary(reply)
    logger.info("ingested %s/%s: %s", namespace, name, message)
    kopf.info(body, reason="Ingested", message=message)
    refused = [
        r for r in reply.get("results", []) if r.get("outcome") == "DOCUMENT_OUTCOME_REFUSED"
    ]
    if refused:
        listed = "; ".join(f"{r['id']}: {r.get('reason', '')}" for r in refused[:5])
        return st.Verdict("True", "PartlyIndexed", f"{len(refused)} documents refused: {listed}")
    return st.Verdict("True", "Indexed", message)


def _ingest_summary(reply: dict[str, Any]) -> str:
    outcomes: dict[str, int] = {}
    for result in reply.get("results", []):
        outcome = str(result.get("outcome", "")).removeprefix("DOCUMENT_OUTCOME_").lower()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    parts = [f"{n} {outcome}" for outcome, n in sorted(outcomes.items())]
    if reply.get("reindexed"):
        parts.append("re-indexed into a new collection")
    written = reply.get("chunksWritten", 0)
    deleted = reply.get("chunksDeleted", 0)
    return f"documents: {', '.join(parts) or 'none'}; chunks +{written} -{deleted}"


def _counts(status: dict[str, Any]) -> str:
    return f"{status.get('documents', 0)} documents, {status.get('chunks', 0)} chunks"


def _observe(
    namespace: str,
    name: str,
    plan: serveconfig.ServePlan | None,
    status: dict[str, Any],
    token: str | None,
) -> st.Verdict | None:
    """Counts (and, given the plan, the adapters a probe succeeded through) as the serving side
    reports them; a knowledge base that does not exist there yet has no documents. Returns
    why it does not serve although its application runs (the gateway cannot reach Milvus),
    else None."""
    try:
        info = gateway.describe(SETTINGS.gateway_for(namespace), namespace, name, token=token)
    except gateway.GatewayError as error:
        if error.code == "NOT_FOUND":
            status.update(documents=0, chunks=0)
        if error.code == "UNAVAILABLE":
            return st.Verdict("False", "BackendUnavailable", str(error))
        return None
    except gateway.GatewayUnreachable:
        return None
    status["documents"] = int(info.get("documents", 0))
    status["chunks"] = int(info.get("chunks", 0))
    if info.get("generator"):
        status["generator"] = info["generator"]
    if plan is not None:
        ready = {a.get("name") for a in info.get("adapters", []) if a.get("state") == READY}
        status["adapters"] = [a for a in plan.uses.get(name, ()) if a in ready]
    return None


READY = "ADAPTER_STATE_READY"


def drop(namespace: str, name: str, body: kopf.Body, retry: int, indexes: Indexes) -> None:
    """Drop the collection (unless retained), then serve the namespace without it."""
    observed = seen(body)
    if observed.spec.get("retainPolicy") == "Retain":
        kopf.info(body, reason="Retained", message="retainPolicy Retain: the collection stays")
    elif observed.status.get("indexedDigest"):
        try:
            token = kb_token_or_none(namespace, observed.spec)
            existed = gateway.drop(SETTINGS.gateway_for(namespace), namespace, name, token=token)
        except (gateway.GatewayUnreachable, gateway.GatewayError) as error:
            if retry < SETTINGS.drop_retries:
                raise kopf.TemporaryError(
                    f"the collection is not dropped yet ({error}); retrying",
                    delay=SETTINGS.resync_interval_s,
                ) from error
            kopf.warn(
                body,
                reason="CollectionLeft",
                message=f"gave up dropping the collection after {retry} attempts ({error}); "
                "drop it by hand",
            )
        else:
            what = "dropped its collection" if existed else "it had no collection"
            kopf.info(body, reason="Dropped", message=what)
    try:
        apply_namespace(namespace, *indexes)
    except kopf.TemporaryError as error:
        if retry < SETTINGS.drop_retries:
            raise
        kopf.warn(body, reason="ServingNotUpdated", message=f"gave up: {error}")
