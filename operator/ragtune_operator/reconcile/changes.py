"""Classify a KnowledgeBase spec change by what it costs, with the reason for an Event.

* in-place — the Serve config's args or `user_config` only (retrieval knobs, adapters,
  sampling, access, sources → an incremental ingest): replicas keep running;
* reindex — a new Milvus collection built beside the old one, then the alias swapped
  (embedding model, chunking, index type/params/metric, hybrid search);
* cluster — the Ray cluster spec changes (base model, GPU shape, placement, replica bounds):
  KubeRay brings up a new cluster and switches over when it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ragtune_operator.specs import KnowledgeBaseSpec

Kind = Literal["none", "in-place", "reindex", "cluster"]
COST: dict[Kind, int] = {"none": 0, "in-place": 1, "reindex": 2, "cluster": 3}

CLUSTER_FIELDS = (
    "generator.model",
    "generator.engine",
    "generator.maxBatchSize",
    "generator.kvCacheMemoryFraction",
    "generator.gpus",
    "generator.nodeSelector",
    "generator.tolerations",
    "generator.replicas",
)
REINDEX_FIELDS = (
    "embedding.model",
    "chunking.size",
    "chunking.overlap",
    "vectorStore.uri",
    "vectorStore.indexType",
    "vectorStore.indexParams",
    "vectorStore.metric",
    "vectorStore.hybrid",
)


@dataclass(frozen=True, slots=True)
class Change:
    """The costliest kind among the changed fields, and every changed field with its kind."""

    kind: Kind
    fields: dict[str, Kind]

    @property
    def reason(self) -> str:
        if self.kind == "none":
            return "no spec change"
        listed = ", ".join(f"{name} ({kind})" for name, kind in sorted(self.fields.items()))
        return f"{self.kind} change: {listed}"


def classify(old: KnowledgeBaseSpec, new: KnowledgeBaseSpec) -> Change:
    """What moving from `old` to `new` costs."""
    before = _flatten(old.model_dump(by_alias=True, mode="json"))
    after = _flatten(new.model_dump(by_alias=True, mode="json"))
    fields: dict[str, Kind] = {}
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            fields[name] = _kind_of(name)
    kind: Kind = max(fields.values(), key=COST.__getitem__, default="none")
    return Change(kind=kind, fields=_collapse(fields))


def _kind_of(name: str) -> Kind:
    if any(name == f or name.startswith(f + ".") for f in CLUSTER_FIELDS):
        return "cluster"
    if any(name == f or name.startswith(f + ".") for f in REINDEX_FIELDS):
        return "reindex"
    return "in-place"


def _collapse(fields: dict[str, Kind]) -> dict[str, Kind]:
    """Report list/dict internals by their top field (`sources`, not `sources.0.inline.1.text`)."""
    collapsed: dict[str, Kind] = {}
    for name, kind in fields.items():
        parts = name.split(".")
        cut = next((i for i, part in enumerate(parts) if part.isdigit()), len(parts))
        key = ".".join(parts[: max(cut, 1)])
        for prefix in (*CLUSTER_FIELDS, *REINDEX_FIELDS):
            if key.startswith(prefix + "."):
                key = prefix
        if COST[kind] >= COST[collapsed.get(key, "none")]:
            collapsed[key] = kind
    return collapsed


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        if not value:
            return {prefix: {}} if prefix else {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        if not value:
            return {prefix: []}
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}.{index}"))
        return out
    return {prefix: value}
