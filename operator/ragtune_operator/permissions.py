"""The Kubernetes API permissions the operator needs, and why: the one list the Helm chart's
RBAC must grant (its test renders the chart and compares) and the end-to-end tests hold the
operator's recorded calls against. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from ragtune_operator import conventions as c
from ragtune_operator.settings import OperatorSettings


@dataclass(frozen=True, slots=True)
class Permission:
    """Verbs on one resource of one API group; `cluster` for cluster-scoped resources, or
    namespaced ones listed and watched across all namespaces."""

    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str
    cluster: bool = False


EVALUATION_RUNS = (
    Permission("batch", "jobs", ("get", "create"), "evaluations (and, without KubeRay, training)"),
    Permission("", "configmaps", ("create", "patch"), "an evaluation's questions and its report"),
)


def required(settings: OperatorSettings, *, clusterwide: bool) -> list[Permission]:
    """What the operator calls with these settings, watching every namespace or only some."""
    watched = [
        Permission(
            c.GROUP,
            plural,
            ("list", "watch"),
            "kopf watches the custom resources",
            cluster=clusterwide,
        )
        for plural in (c.KNOWLEDGE_BASE_PLURAL, c.ADAPTER_PLURAL, c.EVALUATION_PLURAL)
    ]
    permissions = [
        Permission(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            ("list", "watch"),
            "kopf follows the custom resource definitions it serves",
            cluster=True,
        ),
        *watched,
        *(
            []
            if clusterwide
            else [
                Permission(
                    "",
                    "namespaces",
                    ("list", "watch"),
                    "kopf follows the namespaces it is told to watch",
                    cluster=True,
                )
            ]
        ),
        *(
            Permission(c.GROUP, plural, ("patch",), "kopf's finalizer and progress annotations")
            for plural in (c.KNOWLEDGE_BASE_PLURAL, c.ADAPTER_PLURAL, c.EVALUATION_PLURAL)
        ),
        *(
            Permission(c.GROUP, f"{plural}/status", ("patch",), "phase, conditions, results")
            for plural in (c.KNOWLEDGE_BASE_PLURAL, c.ADAPTER_PLURAL, c.EVALUATION_PLURAL)
        ),
        Permission("", "events", ("create",), "events on the custom resources"),
        Permission("", "configmaps", ("get",), "ConfigMap sources, datasets and questions"),
        Permission(
            "",
            "secrets",
            ("get",),
            "a KnowledgeBase's bearer token, read by the name its spec gives (never listed)",
        ),
        *EVALUATION_RUNS,
        Permission("", "pods", ("list",), "a finished Job's pod's termination message"),
    ]
    if not settings.direct:
        permissions += [
            Permission(
                "ray.io",
                "rayservices",
                ("get", "create", "patch", "delete"),
                "one RayService per namespace serves its knowledge bases",
            ),
            Permission(
                "",
                "services",
                ("get", "create", "patch", "delete"),
                "the gRPC/HTTP Service in front of the serving pods",
            ),
        ]
    if settings.trains_with_rayjob:
        permissions.append(
            Permission("ray.io", "rayjobs", ("get", "create"), "adapter training (KubeRay)")
        )
    return permissions


def as_rules(permissions: list[Permission]) -> set[tuple[str, str, str]]:
    """(group, resource, verb) triples, the shape an RBAC check compares."""
    return {(p.group, p.resource, verb) for p in permissions for verb in p.verbs}
