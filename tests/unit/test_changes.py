"""Spec changes are classified by cost (in-place, reindex, cluster), each with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from ragtune_operator.reconcile.changes import classify
from ragtune_operator.specs import KnowledgeBaseSpec

BASE: dict[str, Any] = {
    "sources": [{"inline": [{"id": "a.md", "text": "alpha"}]}],
    "retrieval": {"topK": 3},
    "generator": {"maxTokens": 96},
}


def _spec(**changes: Any) -> KnowledgeBaseSpec:
    merged = {**BASE}
    for key, value in changes.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return KnowledgeBaseSpec.model_validate(merged)


@pytest.mark.parametrize(
    ("changes", "kind", "field"),
    [
        ({"retrieval": {"topK": 5}}, "in-place", "retrieval.topK"),
        ({"retrieval": {"scoreThreshold": 0.5}}, "in-place", "retrieval.scoreThreshold"),
        ({"generator": {"maxTokens": 200}}, "in-place", "generator.maxTokens"),
        ({"generator": {"adapterRef": "tone"}}, "in-place", "generator.adapterRef"),
        ({"sources": [{"inline": [{"id": "a.md", "text": "beta"}]}]}, "in-place", "sources"),
        ({"retainPolicy": "Retain"}, "in-place", "retainPolicy"),
        ({"chunking": {"size": 128}}, "reindex", "chunking.size"),
        ({"embedding": {"model": "/models/e5"}}, "reindex", "embedding.model"),
        ({"vectorStore": {"hybrid": True}}, "reindex", "vectorStore.hybrid"),
        ({"vectorStore": {"indexParams": {"M": 32}}}, "reindex", "vectorStore.indexParams"),
        ({"generator": {"model": "org/model"}}, "cluster", "generator.model"),
        ({"generator": {"gpus": 1}}, "cluster", "generator.gpus"),
        ({"generator": {"nodeSelector": {"gpu": "h100"}}}, "cluster", "generator.nodeSelector"),
        ({"generator": {"replicas": {"min": 1, "max": 4}}}, "cluster", "generator.replicas"),
    ],
)
def test_each_field_change_is_classified(changes: dict[str, Any], kind: str, field: str) -> None:
    change = classify(_spec(), _spec(**changes))
    assert change.kind == kind
    assert change.fields == {field: kind}
    assert field in change.reason and change.reason.startswith(f"{kind} change")


def test_the_costliest_change_wins_and_all_are_listed() -> None:
    change = classify(
        _spec(), _spec(retrieval={"topK": 9}, chunking={"size": 100}, generator={"gpus": 2})
    )
    assert change.kind == "cluster"
    assert change.fields == {
        "retrieval.topK": "in-place",
        "chunking.size": "reindex",
        "generator.gpus": "cluster",
    }


def test_no_change() -> None:
    change = classify(_spec(), _spec())
    assert change.kind == "none" and change.fields == {} and change.reason == "no spec change"
