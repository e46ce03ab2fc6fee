"""CRDs come from the spec models, stay in sync with them, and accept the shipped examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
import yaml

from ragtune_operator import crdgen
from ragtune_operator.specs import AdapterSpec, EvaluationSpec, KnowledgeBaseSpec

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "kubernetes"
SPECS = {"KnowledgeBase": KnowledgeBaseSpec, "Adapter": AdapterSpec, "Evaluation": EvaluationSpec}


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(n for v in node.values() for n in _walk(v))]
    if isinstance(node, list):
        return [n for v in node for n in _walk(v)]
    return []


def _schema(kind: str) -> dict[str, Any]:
    documents = {d["spec"]["names"]["kind"]: d for d in crdgen.render().values()}
    schema: dict[str, Any] = documents[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def test_committed_crds_match_the_spec_models() -> None:
    for name, document in crdgen.render().items():
        committed = crdgen.CRD_DIR / name
        assert committed.exists(), f"{name} missing: run `make crds`"
        assert committed.read_text() == crdgen.dump(document), f"{name} is stale: run `make crds`"


def test_schemas_are_structural() -> None:
    for document in crdgen.render().values():
        for node in _walk(document["spec"]["versions"][0]["schema"]):
            assert not {"$ref", "$defs", "anyOf", "title", "const"} & set(node), node
            assert node.get("additionalProperties") is not False
            if "properties" in node and "x-kubernetes-validations" not in node.get(
                "properties", {}
            ):
                assert node.get("type") == "object", node
            if "exclusiveMinimum" in node:
                assert node["exclusiveMinimum"] is True and "minimum" in node


def _examples() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return [d for d in documents if d["apiVersion"].startswith("ragtune.io/")]


def test_examples_validate_against_models_and_crd_schemas() -> None:
    examples = _examples()
    assert {d["kind"] for d in examples} == set(SPECS)
    for document in examples:
        SPECS[document["kind"]].model_validate(document["spec"])
        jsonschema.Draft4Validator(_schema(document["kind"])).validate(document)


INVALID = [
    ("KnowledgeBase", {"chunking": {"size": 8}}, "size"),
    ("KnowledgeBase", {"chunking": {"size": 64, "overlap": 64}}, "overlap"),
    ("KnowledgeBase", {"retrieval": {"topK": 0}}, "topK"),
    ("KnowledgeBase", {"retrieval": {"scoreThreshold": 2}}, "scoreThreshold"),
    ("KnowledgeBase", {"generator": {"engine": "vllm"}}, "engine"),
    ("KnowledgeBase", {"generator": {"gpus": -1}}, "gpus"),
    ("KnowledgeBase", {"generator": {"replicas": {"min": 3, "max": 2}}}, "min"),
    ("KnowledgeBase", {"vectorStore": {"metric": "HAMMING"}}, "metric"),
    ("KnowledgeBase", {"sources": [{}]}, "exactly one"),
    ("KnowledgeBase", {"sources": [{"url": "https://x", "path": "/docs"}]}, "exactly one"),
    ("KnowledgeBase", {"sources": [{"url": "ftp://x"}]}, "url"),
    ("KnowledgeBase", {"retainPolicy": "Keep"}, "retainPolicy"),
    ("KnowledgeBase", {"unknownField": 1}, "unknownField"),
    ("Adapter", {"purpose": "generation"}, "baseModel"),
    ("Adapter", {"baseModel": "m"}, "exactly one"),
    (
        "Adapter",
        {
            "baseModel": "m",
            "source": {"path": "/a"},
            "training": {"datasetRef": {"path": "/data/train.jsonl"}},
        },
        "exactly one",
    ),
    ("Adapter", {"baseModel": "m", "training": {"datasetRef": {}}}, "exactly one of configMap"),
    ("Adapter", {"baseModel": "m", "purpose": "chat", "source": {"path": "/a"}}, "purpose"),
    ("Adapter", {"baseModel": "m", "source": {"path": "relative/dir"}}, "path"),
    ("Evaluation", {"questions": {"inline": [{"question": "q"}]}}, "knowledgeBase"),
    ("Evaluation", {"knowledgeBase": "kb", "questions": {}}, "exactly one"),
    (
        "Evaluation",
        {"knowledgeBase": "kb", "questions": {"configMap": {"name": "q"}}, "modes": ["rag", "rag"]},
        "must not repeat",
    ),
    (
        "Evaluation",
        {
            "knowledgeBase": "kb",
            "questions": {"configMap": {"name": "q"}},
            "prices": {"promptPer1k": -1},
        },
        "promptPer1k",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "names"), INVALID)
def test_invalid_specs_are_refused_naming_the_field(
    kind: str, spec: dict[str, Any], names: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as raised:
        SPECS[kind].model_validate(spec)
    assert names in str(raised.value)
