"""The Helm chart, through Helm's own engine (helm-python-sdk bundles Helm's Go SDK): lint,
render with the defaults and with every toggle, validate each object against the Kubernetes
API schemas, and cross-check RBAC and the gRPC Ingress against what the operator renders.

Lint is strict. Its one finding is expected and stays: the optional KubeRay and Milvus
dependency charts are not vendored, `helm dependency build` fetches them (network needed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from ragtune_operator import permissions
from ragtune_operator.render import rayservice
from ragtune_operator.settings import ENV_PREFIX, load_settings
from ragtune_operator.specs import KnowledgeBaseSpec

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "ragtune"
KUBE_VERSIONS = ("1.27", "1.33")  # the chart's kubeVersion floor, and a recent one
DEPENDENCIES_NOT_FETCHED = "chart directory is missing these dependencies: kuberay-operator,milvus"

EVERY_TOGGLE: dict[str, Any] = {
    "watchNamespaces": ["team-a", "team-b"],
    "serviceAccount": {"create": True, "name": "ragtune-op", "annotations": {"a": "b"}},
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
    "dashboards": {"enabled": True, "annotations": {"grafana_folder": "ragtune"}},
    "networkPolicy": {
        "enabled": True,
        "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
        "apiServerCidr": "10.0.0.1/32",
    },
    "artifacts": {"create": True, "storageClassName": "nfs", "size": "50Gi"},
    "operator": {"training": {"runner": "job"}, "extraEnv": {"RAGTUNE_OPERATOR_WORKER_CPU": "8"}},
    "imagePullSecrets": [{"name": "registry"}],
    "podAnnotations": {"x": "y"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    "grpcIngress": {
        "enabled": True,
        "className": "nginx",
        "host": "{namespace}.rag.example.com",
        "tls": {"secretName": "rag-tls"},
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
    },
}
DIRECT = {
    "watchNamespaces": ["team-a"],
    "operator": {"directDashboardUrl": "http://ray-head.team-a:8265"},
}
COMBINATIONS = {
    "defaults": {},
    "every-toggle": EVERY_TOGGLE,
    "direct": DIRECT,
    "off": {"dashboards": {"enabled": False}, "rbac": {"create": False},
            "serviceAccount": {"create": False, "name": "existing"}},
}  # fmt: skip


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = helm_python.Chart.load(str(CHART))
    try:
        rendered = chart.render(values, name="ragtune", namespace="ragtune-system", is_install=True)
    finally:
        chart.close()
    objects: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_lint_is_clean_but_for_the_unfetched_optional_dependencies() -> None:
    for values in COMBINATIONS.values():
        report = helm_python.lint(str(CHART), values, strict=True, kube_version="v1.27.0")
        assert report["errors"] == [DEPENDENCIES_NOT_FETCHED], report
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == ">=1.27.0-0"
    conditions = {d["name"]: d["condition"] for d in chart["dependencies"]}
    assert conditions == {
        "kuberay-operator": "kuberay-operator.enabled",
        "milvus": "milvus.enabled",
    }
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert not defaults["kuberay-operator"]["enabled"] and not defaults["milvus"]["enabled"]


@pytest.mark.parametrize("combination", list(COMBINATIONS))
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_rendered_object_is_valid_for_the_kubernetes_api(
    combination: str, kube_version: str
) -> None:
    objects = render(COMBINATIONS[combination])
    assert objects
    for obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            _check_monitor(obj)
            continue
        kubernetes_validate.validate(obj, kube_version, strict=True)


def _check_monitor(obj: dict[str, Any]) -> None:
    """Prometheus Operator kinds have no schema offline: their required shape, checked here."""
    spec = obj["spec"]
    assert obj["kind"] in ("ServiceMonitor", "PodMonitor")
    assert spec["selector"]["matchLabels"]
    endpoints = spec.get("endpoints") or spec.get("podMetricsEndpoints")
    assert endpoints and all(e["port"] == "metrics" for e in endpoints)


def test_the_operator_runs_locked_down_with_probes_on_kopfs_liveness_endpoint() -> None:
    (deployment,) = _by_kind(render({}), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["args"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "health": 8080,
        "metrics": 9501,
    }
    assert container["resources"]["limits"]["memory"]


def _operator_settings(objects: list[dict[str, Any]]) -> tuple[Any, bool]:
    """The settings the rendered operator runs with (its env and args), and whether it
    watches the whole cluster."""
    (deployment,) = _by_kind(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if e["name"].startswith(ENV_PREFIX)}
    args = container["args"]
    direct = [a.split("=", 1)[1] for a in args if a.startswith("--direct=")]
    if direct:
        env[f"{ENV_PREFIX}DIRECT_DASHBOARD_URL"] = direct[0]
    clusterwide = not any(a.startswith("--namespace=") for a in args)
    return load_settings(env), clusterwide


def _granted(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize("combination", ["defaults", "every-toggle", "direct"])
def test_rbac_grants_exactly_what_the_operator_calls(combination: str) -> None:
    objects = render(COMBINATIONS[combination])
    settings, clusterwide = _operator_settings(objects)
    needed = permissions.required(settings, clusterwide=clusterwide)
    (cluster_role,) = _by_kind(objects, "ClusterRole")
    roles = _by_kind(objects, "Role")
    cluster_wide = {p for p in needed if p.cluster}
    if clusterwide:
        assert roles == []
        assert _granted(cluster_role["rules"]) == permissions.as_rules(needed)
    else:
        # cluster-scoped reads in the ClusterRole; the rest in a Role per watched namespace
        assert _granted(cluster_role["rules"]) == permissions.as_rules(list(cluster_wide))
        namespaces = COMBINATIONS[combination]["watchNamespaces"]
        assert sorted(r["metadata"]["namespace"] for r in roles) == sorted(namespaces)
        for role in roles:
            assert _granted(role["rules"]) == permissions.as_rules(
                [p for p in needed if not p.cluster]
            )
    bindings = _by_kind(objects, "ClusterRoleBinding") + _by_kind(objects, "RoleBinding")
    (account,) = _by_kind(objects, "ServiceAccount")
    assert bindings and all(
        b["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                           "namespace": "ragtune-system"}]
        for b in bindings
    )  # fmt: skip


def test_the_trainer_kind_follows_the_mode() -> None:
    """KubeRay mode trains in RayJobs, direct mode in Jobs: RBAC grants RayJobs only in
    KubeRay mode; Jobs in both (evaluations run in Jobs)."""
    default_rules = _granted(_by_kind(render({}), "ClusterRole")[0]["rules"])
    assert ("ray.io", "rayjobs", "create") in default_rules
    assert {r for r in default_rules if r[0] == "batch"} == {
        ("batch", "jobs", "get"),
        ("batch", "jobs", "create"),
    }
    direct_role = _by_kind(render(DIRECT), "Role")[0]
    direct_rules = _granted(direct_role["rules"])
    assert ("batch", "jobs", "create") in direct_rules
    assert not any(group == "ray.io" for group, _, _ in direct_rules)


def test_dashboards_ship_as_configmaps_for_grafanas_sidecar() -> None:
    maps = [m for m in _by_kind(render({}), "ConfigMap") if "dashboard" in m["metadata"]["name"]]
    shipped = {path.name: path for path in (CHART / "dashboards").glob("*.json")}
    assert len(maps) == len(shipped) == 2
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, text),) = config_map["data"].items()
        assert json.loads(text) == json.loads(shipped[name].read_text())
    assert not [m for m in _by_kind(render({"dashboards": {"enabled": False}}), "ConfigMap")]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"operator": {"training": {"runner": "spark"}}}, "runner"),
        ({"watchNamespaces": ["Not_A_Namespace"]}, "watchNamespaces"),
        ({"metrics": {"port": 0}}, "port"),
        ({"operator": {"extraEnv": {"PATH": "/tmp"}}}, "PATH.*RAGTUNE_OPERATOR_"),
        ({"unknownKey": 1}, "unknownKey"),
        ({"grpcIngress": {"enabled": "yes"}}, "/grpcIngress/enabled"),
        ({"grpcIngress": {"namespaces": "team-a"}}, "/grpcIngress/namespaces"),
        ({"grpcIngress": {"tls": {"secretName": 3}}}, "/grpcIngress/tls/secretName"),
        ({"grpcIngress": {"annotations": {"a": 1}}}, "/grpcIngress/annotations"),
        ({"grpcIngress": {"tls": {"secret": "rag-tls"}}}, "secret"),
        ({"grpcIngress": {"host": "https://rag.example.com"}}, "/grpcIngress/host"),
    ],
)
def test_the_values_schema_refuses_bad_values_naming_them(
    values: dict[str, Any], says: str
) -> None:
    with pytest.raises(helm_python.HelmError, match=says):
        render(values)


def test_direct_mode_without_exactly_one_namespace_is_refused() -> None:
    with pytest.raises(helm_python.HelmError, match="exactly one"):
        render({"operator": {"directDashboardUrl": "http://ray:8265"}})


def test_notes_say_what_to_apply_next_and_the_example_is_a_valid_knowledge_base() -> None:
    chart = helm_python.Chart.load(str(CHART))
    try:
        notes = chart.render({}, name="ragtune", namespace="ragtune-system")[
            "ragtune/templates/NOTES.txt"
        ]
    finally:
        chart.close()
    assert "examples/knowledgebase.yaml" in notes and "ragtune ask" in notes
    example = yaml.safe_load((CHART / "examples" / "knowledgebase.yaml").read_text())
    KnowledgeBaseSpec.model_validate(example["spec"])


def _rbac_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    roles = _by_kind(objects, "ClusterRole") + _by_kind(objects, "Role")
    return [rule for role in roles for rule in role["rules"]]


@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_rbac_names_every_group_resource_and_verb_and_never_lists_or_watches_secrets(
    combination: str,
) -> None:
    """Listing or watching Secrets reads every Secret of a namespace; a wildcard grants what
    nobody reviewed. Reading one named Secret (`get`) is the most a rule may do with them."""
    objects = render(COMBINATIONS[combination])
    rules = _rbac_rules(objects)
    if combination != "off":  # rbac.create: false renders none
        assert rules
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs", "nonResourceURLs"):
            assert not any("*" in item for item in rule.get(field, [])), rule
    on_secrets = {
        verb for group, resource, verb in _granted(rules) if (group, resource) == ("", "secrets")
    }
    assert not on_secrets & {"list", "watch", "*"}
    for clusterwide in (True, False):  # and the operator's own list, which the chart mirrors
        needed = permissions.as_rules(
            permissions.required(load_settings({}), clusterwide=clusterwide)
        )
        assert not any("*" in part for rule in needed for part in rule)
        assert not {v for g, r, v in needed if (g, r) == ("", "secrets")} & {"list", "watch"}


def _grpc_ingress(**overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "host": "{namespace}.rag.example.com", **overrides}


def test_the_grpc_ingress_is_off_by_default() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["grpcIngress"]["enabled"] is False
    for combination in ("defaults", "direct", "off"):
        assert _by_kind(render(COMBINATIONS[combination]), "Ingress") == []


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("grpc_port", [None, 9443])
def test_the_grpc_ingress_fronts_the_service_the_operator_renders_in_each_namespace(
    grpc_port: int | None, kube_version: str
) -> None:
    """One Ingress per listed namespace, on that namespace's host, whose backend is the gRPC
    Service and port the operator renders there, the operator's port setting changed or not."""
    extra_env = {f"{ENV_PREFIX}GRPC_PORT": str(grpc_port)} if grpc_port else {}
    objects = render(
        {
            "grpcIngress": _grpc_ingress(namespaces=["team-a", "team-b"], className="nginx"),
            "operator": {"extraEnv": extra_env},
        }
    )
    settings, _ = _operator_settings(objects)
    assert settings.grpc_port == (grpc_port or 9000)
    ingresses = _by_kind(objects, "Ingress")
    assert sorted(i["metadata"]["namespace"] for i in ingresses) == ["team-a", "team-b"]
    for ingress in ingresses:
        kubernetes_validate.validate(ingress, kube_version, strict=True)
        assert ingress["apiVersion"] == "networking.k8s.io/v1"
        namespace = ingress["metadata"]["namespace"]
        service = rayservice.grpc_service(namespace, [], settings)
        spec = ingress["spec"]
        assert spec["ingressClassName"] == "nginx"
        (rule,) = spec["rules"]
        assert rule["host"] == f"{namespace}.rag.example.com"
        (path,) = rule["http"]["paths"]
        assert path["path"] == "/" and path["pathType"] in ("Prefix", "ImplementationSpecific")
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        (port,) = [
            p
            for p in service["spec"]["ports"]
            if p["name"] == backend["port"].get("name")
            or p["port"] == backend["port"].get("number")
        ]
        assert port["port"] == settings.grpc_port and port["appProtocol"] == "grpc"


def test_the_grpc_ingress_defaults_to_the_watched_namespaces_and_nginxs_grpc_annotation() -> None:
    objects = render(
        {"watchNamespaces": ["team-a"], "grpcIngress": _grpc_ingress(host="rag.example.com")}
    )
    (ingress,) = _by_kind(objects, "Ingress")
    assert ingress["metadata"]["namespace"] == "team-a"
    assert ingress["spec"]["rules"][0]["host"] == "rag.example.com"
    assert "ingressClassName" not in ingress["spec"]  # the cluster's default class
    grpc = {"nginx.ingress.kubernetes.io/backend-protocol": "GRPC"}
    assert ingress["metadata"]["annotations"] == grpc
    # The user's annotations merge with the default; null drops it.
    merged = render(
        {"watchNamespaces": ["team-a"], "grpcIngress": _grpc_ingress(annotations={"x": "y"})}
    )
    assert _by_kind(merged, "Ingress")[0]["metadata"]["annotations"] == {**grpc, "x": "y"}
    dropped = render(
        {
            "watchNamespaces": ["team-a"],
            "grpcIngress": _grpc_ingress(annotations={**dict.fromkeys(grpc), "x": "y"}),
        }
    )
    assert _by_kind(dropped, "Ingress")[0]["metadata"]["annotations"] == {"x": "y"}


@pytest.mark.parametrize("secret_name", ["", "rag-tls"])
def test_the_grpc_ingress_terminates_tls_for_its_host_iff_a_secret_is_named(
    secret_name: str,
) -> None:
    values = {
        "grpcIngress": _grpc_ingress(
            namespaces=["team-a", "team-b"], tls={"secretName": secret_name}
        )
    }
    ingresses = _by_kind(render(values), "Ingress")
    assert len(ingresses) == 2
    for ingress in ingresses:
        host = f"{ingress['metadata']['namespace']}.rag.example.com"
        if secret_name:
            assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": secret_name}]
        else:
            assert "tls" not in ingress["spec"]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"watchNamespaces": ["team-a"], "grpcIngress": {"enabled": True}},
         "grpcIngress.host is required when grpcIngress.enabled is true"),
        ({"grpcIngress": _grpc_ingress()},
         r"grpcIngress.namespaces \(or watchNamespaces\) must list the namespaces"),
        ({"grpcIngress": _grpc_ingress(host="rag.example.com", namespaces=["team-a", "team-b"])},
         r"serves one namespace but 2 are listed: put \{namespace\} in it"),
    ],
)  # fmt: skip
def test_an_enabled_grpc_ingress_it_cannot_route_is_refused(
    values: dict[str, Any], says: str
) -> None:
    with pytest.raises(helm_python.HelmError, match=says):
        render(values)
