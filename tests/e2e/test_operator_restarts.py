"""The operator killed mid-reconcile, again and again, ends where an uninterrupted run ends.

KubeRay mode, no Ray (the gateway's address is a closed port). One namespace lives through a
scripted history of changes (knowledge bases and adapters created, specs patched, one deleted)
under an operator that runs throughout: the reference. Another lives through the same history
while the operator is SIGKILLed and restarted, `RAGTUNE_SOAK_RESTARTS` times (10 unless set;
a soak run sets more), each kill at a seeded random moment (`RAGTUNE_SOAK_SEED`): a random
time after it started, or the instant a handler or timer begins. Once both settle they hold
the same objects, field for field (namespace names, uids, timestamps and resourceVersions
aside; Events, a log, are not compared); nothing is duplicated or orphaned, no finalizer is
left behind, and an operator facing a settled cluster (restarted, or on its resync timers)
writes nothing. Then everything is deleted under more kills, and every finalizer lets go.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from ragtune_operator import conventions as c
from ragtune_operator import permissions
from ragtune_operator.render import evaluation
from ragtune_operator.render import rayservice as rs
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import EvaluationResource, EvaluationSpec
from ragtune_serving.config import AppArgs

from .cluster import Cluster
from .conftest import (
    EXAMPLES,
    Kube,
    OperatorProcess,
    free_port,
    kill_operator,
    start_operator,
    stop_operator,
)

REFERENCE = "restarts-reference"
KILLED = "restarts-killed"
RESTARTS = int(os.environ.get("RAGTUNE_SOAK_RESTARTS", "10"))
SEED = int(os.environ.get("RAGTUNE_SOAK_SEED", "20240611"))
DELETION_KILLS = 3  # kills while everything is deleted
KILL_AFTER_S = (0.05, 1.5)  # a kill at a random time lands this long after the start
QUIET_S = 3.0  # settled: nothing changed for three resync intervals (1 s in these tests)
SETTLE_TIMEOUT_S = 90.0
WRITE_VERBS = {"create", "update", "patch", "delete"}
KB = c.KNOWLEDGE_BASE_PLURAL
MODEL = AppArgs().generator.model  # the generator every knowledge base here defaults to
INLINE = {"sources": [{"inline": [{"id": "a.md", "text": "Parcels leave from dock 7."}]}]}
# kopf's lasting annotations: its record of the handled spec and the mark of its prefix.
KOPF_ANNOTATIONS = {f"{c.GROUP}/last-handled-configuration", f"{c.GROUP}/kopf-managed"}

Objects = dict[str, dict[str, dict[str, Any]]]  # "plural.group" → name → object as served
Step = Callable[[Kube, str], Any]


def _custom(group: str, version: str, plural: str) -> Callable[[Kube, str], list[Any]]:
    def listed(kube: Kube, namespace: str) -> list[Any]:
        found: Any = kube.custom.list_namespaced_custom_object(group, version, namespace, plural)
        items: list[Any] = found["items"]
        return items

    return listed


def _raw(response: Any) -> list[Any]:
    items: list[Any] = json.loads(response.data)["items"]
    return items


# Every kind the operator may create (except Events, a log that grows by design), and the
# custom resources it reconciles: the whole of what a namespace's end state is made of.
LISTED: dict[tuple[str, str], Callable[[Kube, str], list[Any]]] = {
    (c.GROUP, KB): _custom(c.GROUP, c.VERSION, KB),
    (c.GROUP, c.ADAPTER_PLURAL): _custom(c.GROUP, c.VERSION, c.ADAPTER_PLURAL),
    (c.GROUP, c.EVALUATION_PLURAL): _custom(c.GROUP, c.VERSION, c.EVALUATION_PLURAL),
    ("ray.io", "rayservices"): _custom("ray.io", "v1", "rayservices"),
    ("ray.io", "rayjobs"): _custom("ray.io", "v1", "rayjobs"),
    ("", "services"): lambda kube, ns: _raw(
        kube.core.list_namespaced_service(ns, _preload_content=False)
    ),
    ("", "configmaps"): lambda kube, ns: _raw(
        kube.core.list_namespaced_config_map(ns, _preload_content=False)
    ),
    ("batch", "jobs"): lambda kube, ns: _raw(
        kubernetes.client.BatchV1Api(kube.api).list_namespaced_job(ns, _preload_content=False)
    ),
}
OWN_KINDS = {"knowledgebases.ragtune.io", "adapters.ragtune.io", "evaluations.ragtune.io"}
USER_CONFIG_MAPS = ["handbook-docs", "support-tone-data"]  # applied from examples/


def _key(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def _snapshot(kube: Kube, namespace: str) -> Objects:
    """Every object of the listed kinds in `namespace`, as the API serves it."""
    return {
        _key(group, plural): {item["metadata"]["name"]: item for item in lister(kube, namespace)}
        for (group, plural), lister in LISTED.items()
    }


# The history both namespaces live through, one step at a time.


def _example(namespace: str) -> Iterator[dict[str, Any]]:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            body["metadata"]["namespace"] = namespace
            yield body


def _resource(kind: str, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _create_everything(kube: Kube, namespace: str) -> None:
    """The examples (a knowledge base on a ConfigMap, an adapter to train, an evaluation),
    a knowledge base with a sourced adapter, and one that is deleted later."""
    for body in _example(namespace):
        kube.create(body)
    concise = {"baseModel": MODEL, "source": {"path": "/adapters/concise/v1"}}
    kube.create(_resource(c.ADAPTER_KIND, namespace, "concise", concise))
    faq = {**INLINE, "generator": {"adapterRef": "concise"}}
    kube.create(_resource(c.KNOWLEDGE_BASE_KIND, namespace, "faq", faq))
    kube.create(_resource(c.KNOWLEDGE_BASE_KIND, namespace, "scratch", INLINE))


def _faq_top_k_5(kube: Kube, namespace: str) -> None:
    kube.patch_spec(KB, namespace, "faq", {"retrieval": {"topK": 5}})


def _delete_scratch(kube: Kube, namespace: str) -> None:
    kube.delete(KB, namespace, "scratch")


def _late_and_new_adapter_source(kube: Kube, namespace: str) -> None:
    kube.create(_resource(c.KNOWLEDGE_BASE_KIND, namespace, "late", INLINE))
    source = {"source": {"path": "/adapters/concise/v2"}}
    kube.patch_spec(c.ADAPTER_PLURAL, namespace, "concise", source)


def _faq_top_k_7_handbook_reindex(kube: Kube, namespace: str) -> None:
    kube.patch_spec(KB, namespace, "faq", {"retrieval": {"topK": 7}})
    kube.patch_spec(KB, namespace, "handbook", {"chunking": {"size": 96}})


HISTORY: list[Step] = [
    _create_everything,
    _faq_top_k_5,
    _delete_scratch,
    _late_and_new_adapter_source,
    _faq_top_k_7_handbook_reindex,
]


def _delete_everything(kube: Kube, namespace: str) -> None:
    for name in ("faq", "handbook", "late"):
        kube.delete(KB, namespace, name)
    for name in ("concise", "support-tone"):
        kube.delete(c.ADAPTER_PLURAL, namespace, name)
    kube.delete(c.EVALUATION_PLURAL, namespace, "handbook-modes")


# Settling, comparing, judging.


def _lagging(objects: Objects) -> list[str]:
    """Why `objects` are not settled yet: a deletion not finished, a status behind its spec."""
    behind = []
    for kind, named in objects.items():
        for name, obj in named.items():
            meta = obj["metadata"]
            if meta.get("deletionTimestamp"):
                behind.append(
                    f"{kind} {name} is being deleted (finalizers {meta.get('finalizers')})"
                )
            observed = (obj.get("status") or {}).get("observedGeneration")
            if kind in OWN_KINDS and observed != meta.get("generation"):
                behind.append(f"{kind} {name}: status of generation {observed}")
    return behind


def _settle(kube: Kube, namespace: str, quiet_s: float = QUIET_S) -> Objects:
    """The namespace once every status caught up with its spec, no deletion is pending, and
    nothing changed for `quiet_s`; fails naming what lags at the deadline."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last, since, changed = _snapshot(kube, namespace), time.monotonic(), []
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = _snapshot(kube, namespace)
        if current != last:
            changed = _differences(last, current)
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= quiet_s and not _lagging(current):
            return current
    behind = _lagging(last) or ["still changing at the end:", *changed]
    raise AssertionError(f"{namespace} not settled in {SETTLE_TIMEOUT_S:.0f} s: {behind}")


def _strip_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _strip_volatile(item)
            for key, item in value.items()
            if key not in ("lastTransitionTime", "lastIngested")
        }
    if isinstance(value, list):
        return [_strip_volatile(item) for item in value]
    return value


def _evaluation(obj: dict[str, Any]) -> EvaluationResource:
    meta = obj["metadata"]
    spec = EvaluationSpec.model_validate(obj["spec"])
    return EvaluationResource(
        meta["namespace"], meta["name"], meta["uid"], meta["generation"], spec
    )


def _normalised(objects: Objects, namespace: str) -> Objects:
    """`objects` with what differs between two namespaces of the same history written out:
    the namespace name, uids (as the kind/name they belong to, and an evaluation's digest of
    its uid), server-stamped metadata, condition timestamps, the generation of rendered
    objects (how many patches it took to get there is the operator's business) and their spec
    hash (of owners' uids; checked apart)."""
    uids = {
        obj["metadata"]["uid"]: f"<uid of {kind}/{name}>"
        for kind, named in objects.items()
        for name, obj in named.items()
    }
    cleaned: Objects = {}
    for kind, named in objects.items():
        cleaned[kind] = {}
        for name, obj in named.items():
            meta = dict(obj["metadata"])
            for stamped in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
                meta.pop(stamped, None)
            if kind not in OWN_KINDS:
                meta.pop("generation", None)
            annotations = dict(meta.get("annotations") or {})
            if c.SPEC_HASH_ANNOTATION in annotations:
                annotations[c.SPEC_HASH_ANNOTATION] = "<spec hash>"
                meta["annotations"] = annotations
            cleaned[kind][name] = _strip_volatile({**obj, "metadata": meta})
    for name, obj in objects["evaluations.ragtune.io"].items():
        digest = evaluation.evaluation_digest(_evaluation(obj))  # of its uid and spec
        uids[digest] = uids[digest[:8]] = f"<digest of evaluation {name}>"
    text = json.dumps(cleaned, sort_keys=True)
    for uid, replacement in sorted(uids.items(), key=lambda item: -len(item[0])):
        text = text.replace(uid, replacement)
    normalised: Objects = json.loads(text.replace(namespace, "<namespace>"))
    return normalised


def _differences(expected: Any, found: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ, one line per differing leaf."""
    if isinstance(expected, dict) and isinstance(found, dict):
        lines = []
        for key in sorted(set(expected) | set(found), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in found:
                lines.append(f"{where}: missing (expected {json.dumps(expected[key])[:200]})")
            elif key not in expected:
                lines.append(f"{where}: unexpected {json.dumps(found[key])[:200]}")
            else:
                lines += _differences(expected[key], found[key], where)
        return lines
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        return [
            line
            for index, (a, b) in enumerate(zip(expected, found, strict=True))
            for line in _differences(a, b, f"{path}[{index}]")
        ]
    if expected != found:
        return [f"{path}: expected {json.dumps(expected)[:300]}, found {json.dumps(found)[:300]}"]
    return []


def _inventory(objects: Objects) -> dict[str, list[str]]:
    """Names per kind, a training job's digest written as `*` (one per training spec)."""
    return {
        kind: sorted(re.sub(r"-[0-9a-f]{8}$", "-*", name) for name in named)
        for kind, named in objects.items()
    }


SETTLED_INVENTORY = {
    "knowledgebases.ragtune.io": ["faq", "handbook", "late"],
    "adapters.ragtune.io": ["concise", "support-tone"],
    "evaluations.ragtune.io": ["handbook-modes"],
    "rayservices.ray.io": [c.RAYSERVICE_NAME],
    "rayjobs.ray.io": ["ragtune-train-support-tone-*"],
    "services": [c.GRPC_SERVICE_NAME],
    "configmaps": USER_CONFIG_MAPS,
    "jobs.batch": [],
}


def _orphans(objects: Objects) -> list[str]:
    """Objects the operator made (all but the custom resources and the user's ConfigMaps)
    without an owner, or with an owner reference to an object that is not there."""
    present = {
        (obj["kind"], name, obj["metadata"]["uid"])
        for named in objects.values()
        for name, obj in named.items()
    }
    found = []
    for kind, named in objects.items():
        for name, obj in named.items():
            if kind in OWN_KINDS or (kind == "configmaps" and name in USER_CONFIG_MAPS):
                continue
            owners = obj["metadata"].get("ownerReferences") or []
            missing = [o for o in owners if (o["kind"], o["name"], o["uid"]) not in present]
            if not owners or missing:
                found.append(f"{kind} {name}: owners {owners}, of which missing {missing}")
    return found


def _stale_hashes(objects: Objects) -> list[str]:
    """Rendered objects whose spec-hash annotation is not the hash of what is stored: the
    operator would take them as up to date and never write them again."""
    stale = []
    for kind in ("rayservices.ray.io", "services"):
        for name, obj in objects[kind].items():
            meta = obj["metadata"]
            stored = {
                "spec": obj["spec"],
                "labels": meta.get("labels"),
                "owners": meta.get("ownerReferences"),
            }
            if (meta.get("annotations") or {}).get(c.SPEC_HASH_ANNOTATION) != rs.spec_hash(stored):
                stale.append(f"{kind} {name}")
    return stale


def _leftover_bookkeeping(objects: Objects) -> list[str]:
    """Finalizers other than the operator's one on each custom resource (kopf puts it on
    those with timers too, to stop them before the object goes), and kopf annotations other
    than its lasting ones (the progress of a handler cut short is purged once it completes)."""
    found = []
    for kind in OWN_KINDS:
        for name, obj in objects[kind].items():
            meta = obj["metadata"]
            if (meta.get("finalizers") or []) != [c.FINALIZER]:
                found.append(f"{kind} {name}: finalizers {meta.get('finalizers')}")
            kopf_keys = {key for key in meta.get("annotations") or {} if key.startswith(c.GROUP)}
            if kopf_keys - KOPF_ANNOTATIONS:
                found.append(f"{kind} {name}: annotations {sorted(kopf_keys - KOPF_ANNOTATIONS)}")
    return found


def _assert_last_spec_served(objects: Objects) -> None:
    """The Serve config is the one of the history's last step, not of one before."""
    rayservice = objects["rayservices.ray.io"][c.RAYSERVICE_NAME]
    (application,) = yaml.safe_load(rayservice["spec"]["serveConfigV2"])["applications"]
    args = AppArgs.model_validate(application["args"])
    served = {kb.name: kb for kb in args.knowledge_bases}
    assert sorted(served) == ["faq", "handbook", "late"]
    assert served["faq"].top_k == 7 and served["handbook"].chunk_size == 96
    generator = next(d for d in application["deployments"] if d["name"] == "Generator")
    assert generator["user_config"]["adapters"]["concise"]["path"] == "/adapters/concise/v2"
    owners = [o["name"] for o in rayservice["metadata"]["ownerReferences"]]
    assert owners == ["faq", "handbook", "late"]


TIMERS = {  # the operator's resync timers, one per object of these kinds
    "knowledge_base_resync": "knowledgebases.ragtune.io",
    "adapter_resync": "adapters.ragtune.io",
    "evaluation_resync": "evaluations.ragtune.io",
}


def _wait_for_timer_runs(operator: OperatorProcess, runs: dict[str, int]) -> None:
    """Until the operator's log shows, per timer, `runs` more completed runs than now."""

    def completed() -> Counter[str]:
        return Counter(re.findall(r"Timer '(\w+)' succeeded", operator.output()))

    start, deadline = completed(), time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        done = completed() - start
        if all(done[timer] >= n for timer, n in runs.items()):
            return
        time.sleep(0.25)
    raise AssertionError(f"timer runs after {SETTLE_TIMEOUT_S:.0f} s: {completed() - start}")


# The operator under kills.


def _unfinished(log: str) -> list[str]:
    """Handlers and timers a log shows begun more often than ended: cut short by the kill."""
    begun = Counter(re.findall(r"(\w+ '\w+') is invoked", log))
    ended = Counter(re.findall(r"(\w+ '\w+') (?:succeeded|failed)", log))
    return sorted((begun - ended).elements())


def _wait_for_a_handler_to_begin(running: OperatorProcess) -> None:
    """Until the log shows a handler or timer invoked after now (10 s at most: the resync
    timers begin every second)."""
    with running.log.open("rb") as log:
        log.seek(0, os.SEEK_END)
        deadline, written = time.monotonic() + 10, b""
        while b" is invoked" not in written and time.monotonic() < deadline:
            time.sleep(0.005)
            written += log.read()


@dataclass
class Restarts:
    """Starts the operator and SIGKILLs it at seeded random moments, one log folder per run."""

    cluster: Cluster
    home: Path
    env: dict[str, str]
    rng: random.Random
    current: OperatorProcess | None = None
    runs: int = 0
    interrupted: list[list[str]] = field(default_factory=list)  # per kill: what it cut short

    def start(self) -> OperatorProcess:
        home = self.home / f"run-{self.runs:03d}"
        home.mkdir()
        self.runs += 1
        self.current = start_operator(self.cluster, home, self.env, [])
        return self.current

    def kill_at_random(self) -> None:
        """A random time after the start, or the instant a handler or timer begins."""
        running = self.current
        assert running is not None
        if self.rng.random() < 0.5:
            time.sleep(self.rng.uniform(*KILL_AFTER_S))
        else:
            _wait_for_a_handler_to_begin(running)
        kill_operator(running)
        self.interrupted.append(_unfinished(running.output()))
        self.current = None

    def live_through(self, kube: Kube, namespace: str, steps: list[Step], kills: int) -> None:
        """`steps` spread over `kills` runs of the operator, each step applied while it is
        down or just after it started (the seed decides), then a last undisturbed start."""
        schedule: dict[int, list[Step]] = {}
        for index, step in enumerate(steps):
            schedule.setdefault(index * kills // len(steps), []).append(step)
        for restart in range(kills):
            later = []
            for step in schedule.get(restart, []):
                if self.rng.random() < 0.5:
                    step(kube, namespace)
                else:
                    later.append(step)
            self.start()
            for step in later:
                step(kube, namespace)
            self.kill_at_random()
        self.start()

    def stop(self) -> None:
        if self.current is not None:
            stop_operator(self.current)
            print(self.current.output()[-4000:])
            self.current = None


@pytest.fixture(scope="module")
def operator_env() -> dict[str, str]:
    return {
        "RAGTUNE_OPERATOR_GATEWAY_URL": f"http://127.0.0.1:{free_port()}",
        "RAGTUNE_OPERATOR_DROP_RETRIES": "2",
    }


@pytest.fixture(scope="module")
def reference(
    cluster: Cluster,
    kube: Kube,
    operator_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Objects:
    """The history under one operator that runs throughout, each step handled before the
    next; the settled namespace, as the API serves it."""
    cluster.add_namespace(REFERENCE)
    running = start_operator(cluster, tmp_path_factory.mktemp("reference"), operator_env, [])
    try:
        for step in HISTORY:
            step(kube, REFERENCE)
            _settle(kube, REFERENCE, quiet_s=0)
        return _settle(kube, REFERENCE)
    finally:
        stop_operator(running)


@pytest.fixture(scope="module")
def restarts(
    cluster: Cluster,
    kube: Kube,
    reference: Objects,
    operator_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Restarts]:
    """The same history in another namespace, the operator killed and restarted throughout;
    an operator runs undisturbed when this hands over (watching both namespaces)."""
    cluster.add_namespace(KILLED)
    rng = random.Random(SEED)
    driver = Restarts(cluster, tmp_path_factory.mktemp("restarts"), operator_env, rng)
    try:
        driver.live_through(kube, KILLED, HISTORY, RESTARTS)
        print(f"seed {SEED}, {RESTARTS} kills, logs under {driver.home}")
        print(f"handlers and timers cut short, per kill: {driver.interrupted}")
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="module")
def settled(kube: Kube, reference: Objects, restarts: Restarts) -> dict[str, Objects]:
    """Both namespaces settled: the reference one before the kills, the other after them."""
    return {REFERENCE: reference, KILLED: _settle(kube, KILLED)}


def test_the_killed_namespace_ends_as_the_uninterrupted_one(
    settled: dict[str, Objects],
) -> None:
    _assert_last_spec_served(settled[REFERENCE])
    _assert_last_spec_served(settled[KILLED])
    differences = _differences(
        _normalised(settled[REFERENCE], REFERENCE), _normalised(settled[KILLED], KILLED)
    )
    assert not differences, "\n".join(differences)


def test_nothing_is_duplicated_orphaned_stale_or_left_behind(
    settled: dict[str, Objects],
) -> None:
    """In both namespaces: the expected objects of every kind the operator may create, each
    owned by objects that exist, each rendered one carrying the hash of what is stored, and
    no finalizer or handler progress left over."""
    needed = permissions.required(OperatorSettings(), clusterwide=True)
    created = {(p.group, p.resource) for p in needed if "create" in p.verbs}
    assert created - {("", "events")} <= set(LISTED)
    for namespace, objects in settled.items():
        assert _inventory(objects) == SETTLED_INVENTORY, namespace
        assert _orphans(objects) == [], namespace
        assert _stale_hashes(objects) == [], namespace
        assert _leftover_bookkeeping(objects) == [], namespace


def test_a_repeat_reconcile_writes_nothing(
    cluster: Cluster, kube: Kube, settled: dict[str, Objects], restarts: Restarts
) -> None:
    """The restarted operators met the settled reference namespace at every kill of the loop
    and wrote nothing to it; the one running now, over three runs of every object's resync
    timer (each knowledge base, adapter and evaluation, in both namespaces), makes no write
    call at all."""
    for namespace, objects in settled.items():  # resourceVersions included
        differences = _differences(objects, _snapshot(kube, namespace))
        assert not differences, "\n".join([namespace, *differences])
    operator = restarts.current
    assert operator is not None
    cluster.api.operator_calls.clear()
    runs = {
        timer: 3 * sum(len(objects[kind]) for objects in settled.values())
        for timer, kind in TIMERS.items()
    }
    _wait_for_timer_runs(operator, runs)
    writes = {call for call in cluster.api.operator_calls if call.verb in WRITE_VERBS}
    assert writes == set()
    for namespace, objects in settled.items():
        differences = _differences(objects, _snapshot(kube, namespace))
        assert not differences, "\n".join([namespace, *differences])


def test_deleting_under_kills_releases_every_finalizer(
    kube: Kube, settled: dict[str, Objects], restarts: Restarts
) -> None:
    """Every custom resource deleted while the operator is killed again and again: each one
    goes (its finalizer released), the RayService and Service with the last knowledge base.
    The emulator has no garbage collector: the training RayJob is left to Kubernetes', owned
    by the Adapter that is gone."""
    adapter = settled[KILLED]["adapters.ragtune.io"]["support-tone"]
    restarts.kill_at_random()
    restarts.live_through(kube, KILLED, [_delete_everything], DELETION_KILLS)
    left = _settle(kube, KILLED)
    assert _inventory(left) == {
        **{kind: [] for kind in SETTLED_INVENTORY},
        "configmaps": USER_CONFIG_MAPS,
        "rayjobs.ray.io": ["ragtune-train-support-tone-*"],
    }
    (rayjob,) = left["rayjobs.ray.io"].values()
    owners = [(o["kind"], o["uid"]) for o in rayjob["metadata"]["ownerReferences"]]
    assert owners == [(c.ADAPTER_KIND, adapter["metadata"]["uid"])]


def test_a_kill_between_the_two_deletes_of_the_last_knowledge_base_leaves_no_service(
    kube: Kube, cluster: Cluster, restarts: Restarts
) -> None:
    """The kill the loop above can land on, made certain: the last knowledge base is being
    deleted, the operator has deleted the RayService and dies before it deletes the Service.
    The restarted operator finishes the deletion: the Service goes too."""
    namespace = "restarts-window"
    cluster.add_namespace(namespace)
    kube.create(_resource(c.KNOWLEDGE_BASE_KIND, namespace, "faq", INLINE))
    assert _inventory(_settle(kube, namespace))["services"] == [c.GRPC_SERVICE_NAME]
    restarts.kill_at_random()
    kube.custom.delete_namespaced_custom_object(
        "ray.io", "v1", namespace, "rayservices", c.RAYSERVICE_NAME
    )  # what the killed operator did first
    kube.delete(KB, namespace, "faq")
    restarts.start()
    left = _settle(kube, namespace)
    assert left["knowledgebases.ragtune.io"] == {}
    assert _inventory(left)["services"] == []
