"""Kubernetes API calls the operator makes besides kopf's own: apply rendered objects, read
ConfigMaps and (by name) Secrets, read the RayService KubeRay reports on and the training and
evaluation Jobs' outcome.

Sync (the official `kubernetes` client): kopf runs the sync handlers that call this in worker
threads. Applying is idempotent: an object whose spec-hash annotation matches is not written.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import kubernetes
from kubernetes.client.exceptions import ApiException

from ragtune_operator import conventions as c

Applied = Literal["created", "updated", "unchanged"]
RAYSERVICE = ("ray.io", "v1", "rayservices")
RAYJOB = ("ray.io", "v1", "rayjobs")
MERGE_PATCH = "application/merge-patch+json"  # lists replaced whole, as rendered
USER_AGENT = "ragtune-operator/0.1"

_client_lock = threading.Lock()
_client: kubernetes.client.ApiClient | None = None


class KubeError(RuntimeError):
    """A Kubernetes API call failed for a reason other than the object being absent."""


def _api() -> kubernetes.client.ApiClient:
    """One API client per process: in-cluster credentials, else the kubeconfig."""
    global _client
    with _client_lock:
        if _client is None:
            try:
                kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
            except kubernetes.config.ConfigException:
                kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
            _client = kubernetes.client.ApiClient()
            _client.user_agent = USER_AGENT  # audit logs name the operator's own calls
        return _client


def _core() -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(_api())


def _custom() -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(_api())


def _hash(obj: Any) -> str | None:
    """The spec-hash annotation of a raw dict or a typed client object."""
    if isinstance(obj, dict):
        annotations = (obj.get("metadata") or {}).get("annotations")
    else:
        annotations = obj.metadata.annotations if obj.metadata is not None else None
    found: str | None = (annotations or {}).get(c.SPEC_HASH_ANNOTATION)
    return found


def _call(what: str, operation: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one API call; None when the object is absent, KubeError for anything else."""
    try:
        return operation(*args, **kwargs)
    except ApiException as error:
        if error.status == 404:
            return None
        raise KubeError(f"{what}: HTTP {error.status} {error.reason}: {error.body}") from error


Kind = Literal["RayService", "RayJob", "Service", "Job", "ConfigMap"]


@dataclass(frozen=True, slots=True)
class _Verbs:
    """The four calls the operator makes on one kind of object it renders."""

    get: Callable[[str, str], Any]  # (namespace, name)
    create: Callable[[str, dict[str, Any]], Any]  # (namespace, body)
    patch: Callable[[str, str, dict[str, Any]], Any]  # (namespace, name, merge patch)
    delete: Callable[[str, str], Any]  # (namespace, name)


def _verbs(kind: Kind) -> _Verbs:
    if kind in ("RayService", "RayJob"):
        custom = _custom()
        group, version, plural = RAYSERVICE if kind == "RayService" else RAYJOB
        return _Verbs(
            get=lambda ns, name: custom.get_namespaced_custom_object(
                group, version, ns, plural, name
            ),
            create=lambda ns, body: custom.create_namespaced_custom_object(
                group, version, ns, plural, body
            ),
            patch=lambda ns, name, body: custom.patch_namespaced_custom_object(
                group, version, ns, plural, name, body, _content_type=MERGE_PATCH
            ),
            delete=lambda ns, name: custom.delete_namespaced_custom_object(
                group, version, ns, plural, name
            ),
        )
    if kind == "Job":
        batch = kubernetes.client.BatchV1Api(_api())
        return _Verbs(
            get=lambda ns, name: batch.read_namespaced_job(name, ns),
            create=lambda ns, body: batch.create_namespaced_job(ns, cast(Any, body)),
            patch=lambda ns, name, body: batch.patch_namespaced_job(
                name, ns, body, _content_type=MERGE_PATCH
            ),
            delete=lambda ns, name: batch.delete_namespaced_job(
                name, ns, propagation_policy="Background"
            ),
        )
    core = _core()
    if kind == "ConfigMap":
        return _Verbs(
            get=lambda ns, name: core.read_namespaced_config_map(name, ns),
            create=lambda ns, body: core.create_namespaced_config_map(ns, cast(Any, body)),
            patch=lambda ns, name, body: core.patch_namespaced_config_map(
                name, ns, body, _content_type=MERGE_PATCH
            ),
            delete=lambda ns, name: core.delete_namespaced_config_map(name, ns),
        )
    return _Verbs(
        get=lambda ns, name: core.read_namespaced_service(name, ns),
        # The client serializes plain dicts as well as its model objects.
        create=lambda ns, body: core.create_namespaced_service(ns, cast(Any, body)),
        patch=lambda ns, name, body: core.patch_namespaced_service(
            name, ns, body, _content_type=MERGE_PATCH
        ),
        delete=lambda ns, name: core.delete_namespaced_service(name, ns),
    )


def apply(manifest: dict[str, Any]) -> Applied:
    """Create `manifest` (any Kind above), or patch it when its spec hash changed."""
    kind: Kind = manifest["kind"]
    namespace = manifest["metadata"]["namespace"]
    name = manifest["metadata"]["name"]
    what = f"{kind} {namespace}/{name}"
    verbs = _verbs(kind)
    current = _call(what, verbs.get, namespace, name)
    if current is None:
        _call(what, verbs.create, namespace, manifest)
        return "created"
    if _hash(current) == _hash(manifest):
        return "unchanged"
    _call(what, verbs.patch, namespace, name, manifest)
    return "updated"


def delete(kind: Kind, namespace: str, name: str) -> bool:
    """Delete an object the operator rendered; False when it was already gone."""
    return _call(f"{kind} {namespace}/{name}", _verbs(kind).delete, namespace, name) is not None


def rayservice(namespace: str) -> dict[str, Any] | None:
    """The namespace's RayService as KubeRay last wrote it, or None."""
    what = f"RayService {namespace}/{c.RAYSERVICE_NAME}"
    found: dict[str, Any] | None = _call(
        what, _verbs("RayService").get, namespace, c.RAYSERVICE_NAME
    )
    return found


def config_map(namespace: str, name: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """A ConfigMap's `data` and `binaryData`, or None when it does not exist."""
    found = _call(
        f"ConfigMap {namespace}/{name}", _core().read_namespaced_config_map, name, namespace
    )
    if found is None:
        return None
    return dict(found.data or {}), dict(found.binary_data or {})


def secret_value(namespace: str, name: str, key: str) -> str | None:
    """One key of a Secret, decoded; None when the Secret or the key does not exist."""
    found = _call(f"Secret {namespace}/{name}", _core().read_namespaced_secret, name, namespace)
    encoded = (found.data or {}).get(key) if found is not None else None
    if encoded is None:
        return None
    return base64.b64decode(encoded).decode("utf-8")


def read(kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
    """An object as the API serves it (status included), or None when it does not exist."""
    found = _call(f"{kind} {namespace}/{name}", _verbs(kind).get, namespace, name)
    if found is None or isinstance(found, dict):
        return found
    serialized: dict[str, Any] = _api().sanitize_for_serialization(found)  # type: ignore[no-untyped-call]
    return serialized


def termination_message(namespace: str, job_name: str) -> str:
    """What the latest finished pod of a Job (a training Job, or the submitter Job KubeRay
    names after its RayJob) left in its termination message ("" if none)."""
    pods = _call(
        f"pods of Job {namespace}/{job_name}",
        _core().list_namespaced_pod,
        namespace,
        label_selector=f"job-name={job_name}",
    )
    messages: list[tuple[str, str]] = []
    for pod in pods.items if pods is not None else []:
        for status in (pod.status.container_statuses or []) if pod.status else []:
            done = status.state.terminated if status.state else None
            if done is not None and done.message:
                messages.append((str(done.finished_at or ""), done.message))
    return max(messages)[1] if messages else ""
