"""Pure render: KnowledgeBases → Serve config → RayService and Service (golden files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ragtune_operator.render import rayservice as rs
from ragtune_operator.render import serveconfig
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import KnowledgeBaseResource, KnowledgeBaseSpec
from ragtune_serving.config import AppArgs

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
SETTINGS = OperatorSettings()


def _example_spec() -> dict[str, Any]:
    text = (REPO / "examples" / "kubernetes" / "knowledgebase.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(text)["spec"]
    return spec


def _kb(name: str, spec: dict[str, Any], namespace: str = "team-a") -> KnowledgeBaseResource:
    return KnowledgeBaseResource(
        namespace=namespace,
        name=name,
        uid=f"uid-{name}",
        generation=1,
        spec=KnowledgeBaseSpec.model_validate(spec),
    )


GPU_SPEC = {
    **_example_spec(),
    "generator": {
        "gpus": 1,
        "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "replicas": {"min": 1, "max": 3},
    },
}


def _check_golden(name: str, document: dict[str, Any], update: bool) -> None:
    path = GOLDEN / name
    text = yaml.safe_dump(document, sort_keys=False, width=100)
    if update:
        path.write_text(text)
    assert path.exists(), f"{path} missing: run pytest --update-golden"
    assert text == path.read_text(), f"{name} differs from its golden file"


@pytest.mark.parametrize(
    ("case", "specs"),
    [("cpu", {"handbook": _example_spec()}), ("gpu", {"handbook": GPU_SPEC})],
)
def test_rendered_objects_match_golden_files(
    case: str, specs: dict[str, dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    update = bool(request.config.getoption("--update-golden"))
    kbs = [_kb(name, spec) for name, spec in specs.items()]
    plan = serveconfig.plan(kbs, SETTINGS)
    assert plan.args is not None and not plan.refused
    config = serveconfig.serve_config(plan.args, SETTINGS)
    service = rs.rayservice("team-a", config, kbs[0].spec.generator, kbs, SETTINGS)
    _check_golden(f"serveconfig-{case}.yaml", config, update)
    _check_golden(f"rayservice-{case}.yaml", service, update)
    _check_golden(f"grpc-service-{case}.yaml", rs.grpc_service("team-a", kbs, SETTINGS), update)


def test_every_rendered_serve_config_validates_against_the_args_model() -> None:
    kbs = [_kb("handbook", _example_spec()), _kb("faq", {"retrieval": {"topK": 5}})]
    plan = serveconfig.plan(kbs, SETTINGS)
    assert plan.args is not None
    (application,) = serveconfig.serve_config(plan.args, SETTINGS)["applications"]
    args = AppArgs.model_validate(application["args"])
    assert args.knowledge_base_settings("team-a", "faq").top_k == 5
    assert args.knowledge_base_settings("team-a", "handbook").hybrid is True
    assert plan.served == ("faq", "handbook")


def test_gpu_group_carries_limits_node_selector_and_tolerations() -> None:
    kb = _kb("handbook", GPU_SPEC)
    plan = serveconfig.plan([kb], SETTINGS)
    assert plan.args is not None and plan.args.generator.device == "cuda"
    assert plan.args.deployments.generator.num_gpus == 1
    assert plan.args.deployments.embedder.num_gpus == 0
    service = rs.rayservice("team-a", {}, kb.spec.generator, [kb], SETTINGS)
    groups = {g["groupName"]: g for g in service["spec"]["rayClusterConfig"]["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    pod = groups["gpu"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert (groups["gpu"]["minReplicas"], groups["gpu"]["maxReplicas"]) == (1, 3)
    cpu_only = rs.rayservice("team-a", {}, _kb("x", {}).spec.generator, [kb], SETTINGS)
    assert [g["groupName"] for g in cpu_only["spec"]["rayClusterConfig"]["workerGroupSpecs"]] == [
        "cpu"
    ]


def test_conflicting_knowledge_bases_are_refused_with_a_reason() -> None:
    kbs = [
        _kb("alpha", {}),
        _kb("beta", {"generator": {"model": "org/other-model"}}),
        _kb("gamma", {"generator": {"engine": "tensorrt-llm"}}),
    ]
    plan = serveconfig.plan(kbs, SETTINGS)
    assert plan.served == ("alpha",)
    assert "generator.model" in plan.refused["beta"] and "alpha" in plan.refused["beta"]
    assert "tensorrt-llm" in plan.refused["gamma"]
    assert serveconfig.plan([kbs[2]], SETTINGS).args is None


def test_owner_references_and_spec_hash() -> None:
    kbs = [_kb("b", {}), _kb("a", {})]
    service = rs.grpc_service("team-a", kbs, SETTINGS)
    assert [o["name"] for o in service["metadata"]["ownerReferences"]] == ["a", "b"]
    assert all(o["uid"].startswith("uid-") for o in service["metadata"]["ownerReferences"])
    other = rs.grpc_service("team-a", kbs, SETTINGS.model_copy(update={"grpc_port": 9443}))
    hash_key = "ragtune.io/spec-hash"
    assert (
        service["metadata"]["annotations"][hash_key] != other["metadata"]["annotations"][hash_key]
    )
    again = rs.grpc_service("team-a", list(reversed(kbs)), SETTINGS)
    assert again == service
    assert rs.endpoint("team-a", SETTINGS) == "ragtune-grpc.team-a.svc:9000"
