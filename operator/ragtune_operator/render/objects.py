"""Metadata shared by the objects the operator renders. Pure."""

from __future__ import annotations

from typing import Any

from ragtune_operator import conventions as c


def owned_by(kind: str, name: str, uid: str) -> list[dict[str, Any]]:
    """`ownerReferences` making a custom resource the controller of an object: deleting the
    resource deletes the object (Kubernetes' garbage collector)."""
    return [
        {
            "apiVersion": c.API_VERSION,
            "kind": kind,
            "name": name,
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def owned_metadata(
    kind: str, owner: str, uid: str, *, name: str, namespace: str, labels: dict[str, str]
) -> dict[str, Any]:
    """`metadata` of an object a custom resource (`kind` named `owner`) controls."""
    return {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": owned_by(kind, owner, uid),
    }
