"""A Kubernetes API for the operator's end-to-end tests: KMock's KubernetesEmulator.

The emulator stores objects and streams watches; it does no server-side logic of its own. What a
real kube-apiserver does that the operator relies on is added here, in the tests only:
metadata it stamps (uid, generation, resourceVersion, creationTimestamp, names from
generateName), label selectors on lists, the status subresource split (a write to the object
ignores `status`, a write to `/status` changes only `status`, `generation` moves only with
`spec`). Finalizer-blocked
deletion is the emulator's own. It runs on its own event loop in a thread, so tests, kubectl and
the operator (a separate process) all talk to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmock
import yaml
from kmock._internal import enums, parsing, rendering

from ragtune_operator import conventions as c

CRDS = Path(__file__).resolve().parents[2] / "helm" / "ragtune" / "crds"


_parse_path = parsing.parse_path


def _parse_path_with_namespaces(path: str) -> parsing.ParsedPath:
    """KMock 0.8 reads `/api/v1/namespaces[/NAME]` as a namespace prefix with nothing after
    it; it is the cluster-scoped `namespaces` resource (kopf lists it to watch namespaces)."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) <= 4:
        name = parts[3] if len(parts) == 4 else None
        return parsing.ParsedPath("", "v1", "namespaces", None, name, None)
    return _parse_path(path)


OPERATOR_AGENTS = ("kopf/", "ragtune-operator/")
VERBS = {"PATCH": "patch", "PUT": "update", "POST": "create", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class Call:
    """One API request as RBAC sees it: group, resource (with a subresource: `jobs/status`),
    verb, and whether it was namespaced."""

    group: str
    resource: str
    verb: str
    namespaced: bool


def rbac_call(request: rendering.Request) -> Call | None:
    """The RBAC view of a resource request; None for discovery and other non-resource URLs."""
    if request.resource is None or not request.resource.plural:
        return None
    resource = request.resource.plural
    if request.subresource:
        resource = f"{resource}/{request.subresource}"
    method = str(request.method.value if hasattr(request.method, "value") else request.method)
    if method == "GET":
        if request.params.get("watch") in ("true", "1"):
            verb = "watch"
        else:
            verb = "get" if request.name else "list"
    else:
        verb = VERBS.get(method.upper(), method.lower())
    return Call(request.resource.group or "", resource, verb, request.namespace is not None)


class ApiServer(kmock.KubernetesEmulator):  # type: ignore[misc]
    """The emulator plus the few apiserver behaviours the operator depends on, and a record of
    the calls the operator (kopf and ragtune's own client, by user agent) made."""

    _versions = itertools.count(1000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.operator_calls: set[Call] = set()

    async def _handle(self, request: rendering.Request) -> Any:
        agent = request.headers.get("User-Agent", "") or request.headers.get("user-agent", "")
        call = rbac_call(request)
        if call is not None and agent.startswith(OPERATOR_AGENTS):
            self.operator_calls.add(call)
        if request.resource is not None and isinstance(request.data, dict):
            if request.action == enums.action.CREATE:
                self._stamp_new(request.data)
            elif request.action == enums.action.UPDATE and request.name is not None:
                self._split_status(request)
        elif request.resource is not None and isinstance(request.data, list):
            self._check_json_patch(request)
        return await super()._handle(request)

    def _check_json_patch(self, request: rendering.Request) -> None:
        """Optimistic concurrency: a failed `test` of resourceVersion is 422, as on a real
        apiserver (kopf then retries on its next cycle); a JSON patch bumps the version."""
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects:
            return
        try:
            current = self.objects[key].raw.get("metadata", {}).get("resourceVersion")
        except ValueError:  # KMock's soft-deleted object: gone, as far as clients can tell
            raise kmock.KubernetesError(status=404, reason="NotFound", message="deleted") from None
        for op in request.data:
            tested = op.get("op") == "test" and op.get("path") == "/metadata/resourceVersion"
            if tested and op.get("value") != current:
                raise kmock.KubernetesError(
                    status=422,
                    reason="Invalid",
                    message=f"resourceVersion is {current}, not {op.get('value')}",
                )
        request.data.append(
            {"op": "add", "path": "/metadata/resourceVersion", "value": str(next(self._versions))}
        )

    async def _serve_version(self, request: rendering.Request) -> Any:
        # The core group's version is "v1", not "/v1" (kubectl cannot map "/v1" resources).
        # Short names belong to resources, not to their subresources.
        listing = await super()._serve_version(request)
        listing["groupVersion"] = listing["groupVersion"].removeprefix("/")
        for entry in listing["resources"]:
            if "/" in entry["name"]:
                entry["shortNames"] = []
        return listing

    async def _serve_list(self, request: rendering.Request) -> Any:
        # KMock lists every object of the resource; an API server honours `labelSelector`
        # (the equality form, `k=v,k2=v2`, the only one the operator sends).
        listing = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if selector:
            wanted = dict(part.split("=", 1) for part in selector.split(","))
            listing["items"] = [
                item
                for item in listing["items"]
                if all(
                    ((item.get("metadata") or {}).get("labels") or {}).get(key) == value
                    for key, value in wanted.items()
                )
            ]
        return listing

    def _stamp_new(self, body: dict[str, Any]) -> None:
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:6]}"
        meta.setdefault("uid", str(uuid.uuid4()))
        meta["generation"] = 1
        meta["resourceVersion"] = str(next(self._versions))
        meta["creationTimestamp"] = (
            datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
        )
        if self._has_status(body.get("apiVersion", ""), body.get("kind", "")):
            body.pop("status", None)

    def _has_status(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in STATUS_KINDS

    def _split_status(self, request: rendering.Request) -> None:
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects:
            return
        current = self.objects[key].raw
        if not self._has_status(current.get("apiVersion", ""), current.get("kind", "")):
            self._bump(request.data, current, spec_changed=False)
            return
        patch = request.data
        if request.subresource == "status":
            for field in list(patch):
                if field != "status":
                    patch.pop(field)
            self._bump(patch, current, spec_changed=False)
            return
        patch.pop("status", None)
        spec_changed = "spec" in patch and _merged(current.get("spec"), patch["spec"]) != (
            current.get("spec")
        )
        self._bump(patch, current, spec_changed=spec_changed)

    def _bump(self, patch: dict[str, Any], current: dict[str, Any], *, spec_changed: bool) -> None:
        meta = patch.setdefault("metadata", {}) or {}
        patch["metadata"] = meta
        meta["resourceVersion"] = str(next(self._versions))
        if spec_changed:
            meta["generation"] = int(current.get("metadata", {}).get("generation", 1)) + 1


STATUS_KINDS = {
    (c.API_VERSION, c.KNOWLEDGE_BASE_KIND),
    (c.API_VERSION, c.ADAPTER_KIND),
    (c.API_VERSION, c.EVALUATION_KIND),
    ("ray.io/v1", "RayService"),
}


def _merged(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386) of `patch` onto `base`, as the emulator applies it."""
    if not isinstance(patch, dict):
        return patch
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merged(result.get(key), value)
    return result


def _register(api: ApiServer) -> None:
    """Every resource the operator, kopf and kubectl touch, with the discovery they expect."""
    for crd_path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(crd_path.read_text())
        names = crd["spec"]["names"]
        api.resources[
            f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}/{names['plural']}"
        ] = {
            "namespaced": True,
            "kind": names["kind"],
            "singular": names["singular"],
            "shortnames": names.get("shortNames", []),
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            "subresources": ["status"],
        }
        api.objects[
            "apiextensions.k8s.io/v1/customresourcedefinitions", None, crd["metadata"]["name"]
        ] = crd
    core = {
        "v1/namespaces": ("Namespace", False, []),
        "v1/configmaps": ("ConfigMap", True, []),
        "v1/services": ("Service", True, []),
        "v1/events": ("Event", True, []),
        "v1/pods": ("Pod", True, []),
        "batch/v1/jobs": ("Job", True, ["status"]),
        "apiextensions.k8s.io/v1/customresourcedefinitions": (
            "CustomResourceDefinition",
            False,
            [],
        ),
        "ray.io/v1/rayservices": ("RayService", True, ["status"]),
        "ray.io/v1/rayjobs": ("RayJob", True, ["status"]),
    }
    for key, (kind, namespaced, subresources) in core.items():
        api.resources[key] = {
            "namespaced": namespaced,
            "kind": kind,
            "singular": kind.lower(),
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            "subresources": subresources,
        }


class Cluster:
    """The running API server: its URL, a kubeconfig for clients, and its stored objects."""

    def __init__(self, api: ApiServer, url: str, kubeconfig: Path) -> None:
        self.api = api
        self.url = url
        self.kubeconfig = kubeconfig

    def add_namespace(self, name: str) -> None:
        self.api.objects["v1/namespaces", None, name] = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "uid": str(uuid.uuid4())},
        }


@contextmanager
def api_server(home: Path) -> Iterator[Cluster]:
    """Serve the emulator on a loopback port until the block ends."""
    parsing.parse_path = _parse_path_with_namespaces  # for this emulator's lifetime only
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kube-api", daemon=True)
    thread.start()
    api = ApiServer()
    server = kmock.Server(api)

    async def start() -> str:
        await api.__aenter__()
        await server.__aenter__()
        _register(api)
        return str(server.url).rstrip("/")

    async def stop() -> None:
        await server.__aexit__(None, None, None)
        await api.__aexit__(None, None, None)

    url = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emulator", "cluster": {"server": url}}],
                "users": [{"name": "tester", "user": {"token": "e2e"}}],
                "contexts": [
                    {"name": "emulator", "context": {"cluster": "emulator", "user": "tester"}}
                ],
                "current-context": "emulator",
            }
        )
    )
    try:
        yield Cluster(api, url, kubeconfig)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        parsing.parse_path = _parse_path
