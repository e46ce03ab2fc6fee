"""The rendered serveConfigV2 carries AppArgs and the generator's adapters intact, and names
code that really exists."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from ragtune_serving.config import (
    AdapterArgs,
    AdaptersUserConfig,
    AppArgs,
    DeclaredAdapters,
    DeploymentArgs,
    DeploymentsArgs,
    EmbeddingArgs,
    GatewayUserConfig,
    GeneratorArgs,
    KnowledgeBaseAccess,
    KnowledgeBaseArgs,
    KnowledgeBaseDefaults,
    Limits,
    MilvusArgs,
    RerankerArgs,
    token_digest,
)
from ragtune_serving.serveconfig import (
    GENERATOR_DEPLOYMENT,
    RERANKER_DEPLOYMENT,
    build_serve_config,
)

CUSTOM = AppArgs(
    milvus=MilvusArgs(uri="http://milvus.data:19530", token="root:Milvus", timeout_s=2.5),
    embedding=EmbeddingArgs(model="/models/e5", max_batch_size=8, batch_wait_timeout_s=0.01),
    generator=GeneratorArgs(
        model="org/model", device="cuda", max_tokens=300, temperature=0.7, max_loaded_adapters=3
    ),
    knowledge_base_defaults=KnowledgeBaseDefaults(
        chunk_size=200, chunk_overlap=20, hybrid=True, top_k=6, score_threshold=-0.2
    ),
    reranker=RerankerArgs(max_loaded_adapters=2),
    knowledge_bases=(
        KnowledgeBaseArgs(
            namespace="team-a",
            name="handbook",
            top_k=2,
            score_threshold=0.4,
            rerank_candidates=40,
        ),
    ),
    limits=Limits(max_question_chars=500, max_top_k=20, max_tokens=512),
    deployments=DeploymentsArgs(
        generator=DeploymentArgs(num_replicas=3, num_gpus=0.5, max_queued_requests=-1)
    ),
    torch_threads=4,
)


ADAPTERS = {
    "tone": AdapterArgs(path="/adapters/tone", base_model="org/model"),
    "rewrite": AdapterArgs(path="/adapters/rw", base_model="org/model", purpose="query-rewrite"),
    "ranker": AdapterArgs(path="/adapters/rr", base_model="org/encoder", purpose="rerank"),
}


def _application(document: dict[str, Any]) -> dict[str, Any]:
    (application,) = document["applications"]
    assert isinstance(application, dict)
    return application


def _user_config(document: dict[str, Any], name: str = GENERATOR_DEPLOYMENT) -> dict[str, Any]:
    deployments = {d["name"]: d for d in _application(document)["deployments"]}
    assert set(deployments) == {GENERATOR_DEPLOYMENT, RERANKER_DEPLOYMENT, "Gateway"}
    user_config = deployments[name]["user_config"]
    assert isinstance(user_config, dict)
    return user_config


@pytest.mark.parametrize("args", [AppArgs(), CUSTOM], ids=["defaults", "custom"])
def test_args_round_trip_through_the_document(args: AppArgs) -> None:
    document = build_serve_config(args)
    assert AppArgs.model_validate(_application(document)["args"]) == args


def test_args_round_trip_through_json() -> None:
    text = json.dumps(build_serve_config(CUSTOM))
    restored = AppArgs.model_validate(_application(json.loads(text))["args"])
    assert restored == CUSTOM
    assert restored.generator.temperature == 0.7
    assert restored.deployments.generator.num_gpus == 0.5


def test_adapters_round_trip_through_the_user_configs_split_by_purpose() -> None:
    document = json.loads(json.dumps(build_serve_config(CUSTOM, adapters=ADAPTERS)))
    generating = AdaptersUserConfig.model_validate(_user_config(document)).adapters
    reranking = AdaptersUserConfig.model_validate(_user_config(document, RERANKER_DEPLOYMENT))
    assert generating == {"tone": ADAPTERS["tone"], "rewrite": ADAPTERS["rewrite"]}
    assert reranking.adapters == {"ranker": ADAPTERS["ranker"]}


@pytest.mark.parametrize("adapters", [None, {}], ids=["none", "empty"])
def test_no_adapters_still_writes_an_empty_user_config(
    adapters: dict[str, AdapterArgs] | None,
) -> None:
    # Removing the last adapter must reach the replicas as "none", not as "unchanged".
    document = build_serve_config(AppArgs(), adapters=adapters)
    for name in (GENERATOR_DEPLOYMENT, RERANKER_DEPLOYMENT):
        assert _user_config(document, name) == {"adapters": {}}
    assert _user_config(document, "Gateway") == {"knowledge_bases": {}, "access": {}}


def test_declared_adapters_reach_the_gateway_user_config_never_the_args() -> None:
    declared = {"team-a/handbook": DeclaredAdapters(adapter="tone", rerank_adapter="ranker")}
    document = json.loads(json.dumps(build_serve_config(CUSTOM, declared=declared)))
    restored = GatewayUserConfig.model_validate(_user_config(document, "Gateway"))
    assert restored.knowledge_bases == declared
    assert _application(document)["args"] == _application(build_serve_config(CUSTOM))["args"]


def test_access_reaches_the_gateway_user_config_as_a_digest_never_the_args() -> None:
    access = {"team-a/handbook": KnowledgeBaseAccess(token_sha256=token_digest("t0ken"))}
    document = json.loads(json.dumps(build_serve_config(CUSTOM, access=access)))
    restored = GatewayUserConfig.model_validate(_user_config(document, "Gateway"))
    assert restored.access == access
    assert "t0ken" not in json.dumps(document)
    assert _application(document)["args"] == _application(build_serve_config(CUSTOM))["args"]


def test_adapters_change_only_the_user_config_never_the_args() -> None:
    # A changed `args` restarts every replica; a changed `user_config` only reconfigures them.
    without = build_serve_config(CUSTOM)
    with_adapters = build_serve_config(CUSTOM, adapters=ADAPTERS)
    assert _application(without)["args"] == _application(with_adapters)["args"]
    assert "/adapters/" not in json.dumps(_application(with_adapters)["args"])
    without_deployments = {k: v for k, v in _application(without).items() if k != "deployments"}
    with_deployments = {k: v for k, v in _application(with_adapters).items() if k != "deployments"}
    assert without_deployments == with_deployments


def test_user_configs_name_the_generator_and_reranker_deployments() -> None:
    from ragtune_serving.deployments import generator, reranker

    deployments: list[Any] = [generator.Generator, reranker.Reranker]  # Serve Deployments
    assert [d.name for d in deployments] == [GENERATOR_DEPLOYMENT, RERANKER_DEPLOYMENT]


@pytest.mark.parametrize(
    "raw",
    [
        {"adapters": {"tone": {"path": "/a"}}},
        {"adapters": {"tone": {"path": "", "base_model": "m"}}},
        {"adapters": {"tone": {"path": "/a", "base_model": "m", "purpose": "chat"}}},
        {"adapters": {"": {"path": "/a", "base_model": "m"}}},
        {"adapter": {}},
    ],
)
def test_bad_user_config_is_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        AdaptersUserConfig.model_validate(raw)


def test_declared_knowledge_bases_get_their_own_settings() -> None:
    declared = CUSTOM.knowledge_base_settings("team-a", "handbook")
    assert (declared.top_k, declared.score_threshold) == (2, 0.4)
    assert CUSTOM.knowledge_base_settings("team-a", "other") == CUSTOM.knowledge_base_defaults
    assert CUSTOM.knowledge_base_settings("team-b", "handbook").top_k == 6


def test_custom_args_differ_from_the_defaults() -> None:
    # Guards the round trip above against passing only because every value is a default.
    default_args = _application(build_serve_config(AppArgs()))["args"]
    custom_args = _application(build_serve_config(CUSTOM))["args"]
    assert set(default_args) == set(custom_args)
    assert all(default_args[key] != custom_args[key] for key in default_args)


def test_import_path_names_a_real_function_without_importing_ray() -> None:
    import_path = _application(build_serve_config(AppArgs()))["import_path"]
    module_name, _, attribute = import_path.partition(":")
    spec = importlib.util.find_spec(module_name)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    functions = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert attribute in functions


def test_grpc_servicer_functions_exist() -> None:
    paths = build_serve_config(AppArgs())["grpc_options"]["grpc_servicer_functions"]
    assert len(paths) == 2
    for path in paths:
        module_name, _, attribute = path.rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute)), path
    modules = {path.rpartition(".")[0] for path in paths}
    assert modules == {"ragtune_serving.grpcapi.servicer", "grpc_health.v1.health_pb2_grpc"}


def test_ports_host_and_name_pass_through() -> None:
    document = build_serve_config(
        AppArgs(), app_name="kb-serving", grpc_port=9443, http_port=8080, http_host="127.0.0.1"
    )
    assert document["grpc_options"]["port"] == 9443
    assert document["http_options"] == {"host": "127.0.0.1", "port": 8080}
    assert _application(document)["name"] == "kb-serving"


def test_default_ports() -> None:
    document = build_serve_config(AppArgs())
    assert document["grpc_options"]["port"] == 9000
    assert document["http_options"]["port"] == 8000


def test_replicas_run_offline() -> None:
    env_vars = _application(build_serve_config(AppArgs()))["runtime_env"]["env_vars"]
    assert env_vars["HF_HUB_OFFLINE"] == "1"
    assert all(isinstance(value, str) for value in env_vars.values())


def test_documents_do_not_share_mutable_parts() -> None:
    first = build_serve_config(AppArgs())
    first["grpc_options"]["grpc_servicer_functions"].append("x.y")
    _application(first)["runtime_env"]["env_vars"]["EXTRA"] = "1"
    second = build_serve_config(AppArgs())
    assert "x.y" not in second["grpc_options"]["grpc_servicer_functions"]
    assert "EXTRA" not in _application(second)["runtime_env"]["env_vars"]


def test_document_is_json_serialisable() -> None:
    document = build_serve_config(CUSTOM)
    assert json.loads(json.dumps(document)) == document


# AppArgs validation


@pytest.mark.parametrize(
    "raw",
    [
        {"unknown": 1},
        {"generator": {"modle": "typo"}},
        {"limits": {"max_top_k": 5, "extra": True}},
        {"deployments": {"rewriter": {}}},
    ],
)
def test_unknown_fields_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        AppArgs.model_validate(raw)


@pytest.mark.parametrize(("size", "overlap"), [(64, 64), (64, 100), (16, 16)])
def test_overlap_must_be_below_chunk_size(size: int, overlap: int) -> None:
    raw = {"knowledge_base_defaults": {"chunk_size": size, "chunk_overlap": overlap}}
    with pytest.raises(pydantic.ValidationError, match="chunk_overlap"):
        AppArgs.model_validate(raw)


def test_overlap_just_below_chunk_size_is_accepted() -> None:
    raw = {"knowledge_base_defaults": {"chunk_size": 64, "chunk_overlap": 63}}
    assert AppArgs.model_validate(raw).knowledge_base_defaults.chunk_overlap == 63


def test_default_overlap_is_below_default_chunk_size() -> None:
    defaults = AppArgs().knowledge_base_defaults
    assert 0 <= defaults.chunk_overlap < defaults.chunk_size


@pytest.mark.parametrize(
    "raw",
    [
        {"generator": {"device": "tpu"}},
        {"generator": {"engine": "vllm"}},
        {"generator": {"max_tokens": 0}},
        {"knowledge_base_defaults": {"score_threshold": 1.5}},
        {"deployments": {"gateway": {"num_replicas": 0}}},
        {"torch_threads": -1},
    ],
)
def test_out_of_range_values_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        AppArgs.model_validate(raw)


def test_args_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        AppArgs().torch_threads = 2
