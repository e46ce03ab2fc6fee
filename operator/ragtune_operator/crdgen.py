"""Render the CustomResourceDefinitions from the spec models (`make crds`).

Pydantic's JSON Schema is turned into a Kubernetes structural schema (OpenAPI v3.0): `$ref`s
inlined, optional fields as plain properties, `exclusiveMinimum` in its boolean form, titles
and `additionalProperties: false` dropped (the API server prunes unknown fields), CEL rules
kept as `x-kubernetes-validations`. A unit test fails when the files under helm/ragtune/crds/
differ from what this module renders.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from ragtune_operator import conventions as c
from ragtune_operator.specs import (
    AdapterSpec,
    AdapterStatus,
    EvaluationSpec,
    EvaluationStatus,
    KnowledgeBaseSpec,
    KnowledgeBaseStatus,
)

CRD_DIR = Path(__file__).resolve().parents[2] / "helm" / "ragtune" / "crds"
DROPPED_KEYS = {"title", "$defs"}


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's schema in the form the Kubernetes API server accepts."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    schema: dict[str, Any] = _convert(raw, raw.get("$defs", {}))
    return schema


def _convert(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_convert(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, definitions)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if len(options) == 1:
            merged = {**_convert(options[0], definitions), **_convert(rest, definitions)}
            if merged.get("default", "") is None:
                merged.pop("default")
            return merged
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED_KEYS or (key == "additionalProperties" and value is False):
            continue  # structural schemas forbid it; the API server prunes unknown fields
        if key == "exclusiveMinimum" and not isinstance(value, bool):
            out["minimum"], out["exclusiveMinimum"] = value, True
        elif key == "exclusiveMaximum" and not isinstance(value, bool):
            out["maximum"], out["exclusiveMaximum"] = value, True
        elif key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {name: _convert(sub, definitions) for name, sub in value.items()}
        else:
            out[key] = _convert(value, definitions)
    if out.get("default", "") is None:
        out.pop("default")
    if (
        out.get("type") == "object"
        and "properties" not in out
        and "additionalProperties" not in out
    ):
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _column(name: str, path: str, kind: str = "string", priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        column["priority"] = priority
    return column


def _crd(
    kind: str,
    plural: str,
    short_names: list[str],
    spec: type[BaseModel],
    status: type[BaseModel],
    columns: list[dict[str, Any]],
) -> dict[str, Any]:
    spec_schema = structural_schema(spec)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{c.GROUP}",
            "labels": {"app.kubernetes.io/part-of": "ragtune"},
        },
        "spec": {
            "group": c.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": ["ragtune"],
            },
            "versions": [
                {
                    "name": c.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        *columns,
                        _column("Age", ".metadata.creationTimestamp", "date"),
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": (spec.__doc__ or kind).strip().splitlines()[0],
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": structural_schema(status),
                            },
                        }
                    },
                }
            ],
        },
    }


def render() -> dict[str, dict[str, Any]]:
    """File name → CRD document, for each resource."""
    knowledge_bases = _crd(
        c.KNOWLEDGE_BASE_KIND,
        c.KNOWLEDGE_BASE_PLURAL,
        list(c.KNOWLEDGE_BASE_SHORT_NAMES),
        KnowledgeBaseSpec,
        KnowledgeBaseStatus,
        [
            _column("Phase", ".status.phase"),
            _column("Documents", ".status.documents", "integer"),
            _column("Chunks", ".status.chunks", "integer"),
            _column("Adapters", ".status.adapters"),
            _column("Endpoint", ".status.endpoint"),
        ],
    )
    adapters = _crd(
        c.ADAPTER_KIND,
        c.ADAPTER_PLURAL,
        list(c.ADAPTER_SHORT_NAMES),
        AdapterSpec,
        AdapterStatus,
        [
            _column("Purpose", ".spec.purpose"),
            _column("Base", ".spec.baseModel"),
            _column("Phase", ".status.phase"),
        ],
    )
    evaluations = _crd(
        c.EVALUATION_KIND,
        c.EVALUATION_PLURAL,
        list(c.EVALUATION_SHORT_NAMES),
        EvaluationSpec,
        EvaluationStatus,
        [
            _column("KnowledgeBase", ".spec.knowledgeBase"),
            _column("Phase", ".status.phase"),
            _column("Quality", ".status.winners.quality"),
            _column("Latency", ".status.winners.latency"),
            _column("Cost", ".status.winners.cost", priority=1),
            _column("Format", ".status.winners.format", priority=1),
        ],
    )
    return {
        f"{c.KNOWLEDGE_BASE_PLURAL}.{c.GROUP}.yaml": knowledge_bases,
        f"{c.ADAPTER_PLURAL}.{c.GROUP}.yaml": adapters,
        f"{c.EVALUATION_PLURAL}.{c.GROUP}.yaml": evaluations,
    }


def dump(document: dict[str, Any]) -> str:
    header = "# Generated by `make crds` from operator/ragtune_operator/specs.py. Do not edit.\n"
    return header + yaml.safe_dump(document, sort_keys=False, width=100)


def write(directory: Path = CRD_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in render().items():
        path = directory / name
        path.write_text(dump(document))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else CRD_DIR):
        print(written_path)
