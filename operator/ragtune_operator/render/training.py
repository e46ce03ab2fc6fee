"""The Kubernetes Job that trains an Adapter: `ragtune train`, as a user would run it.

Pure. The Job runs the serving image's `ragtune train` on the Adapter's dataset (a ConfigMap
key mounted as a file, or a path under the artifacts volume) and writes the adapter to a
directory named by a digest of everything that shapes it, so a changed spec trains anew and an
unchanged one never twice. Its metrics go to the termination message, where the operator reads
the final loss without reaching into the volume.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ragtune_operator import conventions as c
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import AdapterResource, AdapterSpec

DATASET_DIR = "/var/run/ragtune/dataset"
DATASET_FILE = "dataset.jsonl"
TERMINATION_LOG = "/dev/termination-log"


class TrainingRefused(ValueError):
    """An Adapter whose training cannot be run as asked; the message says what to change."""


def training_digest(spec: AdapterSpec) -> str:
    """Digest of what shapes the trained adapter: base model, purpose, dataset, options."""
    shaping = spec.model_dump(mode="json", include={"base_model", "purpose", "training"})
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:12]


def artifact_path(adapter: AdapterResource, settings: OperatorSettings) -> str:
    """Where the Job writes the adapter, and where serving loads it from."""
    digest = training_digest(adapter.spec)
    root = settings.artifacts_root.rstrip("/")
    return f"{root}/adapters/{adapter.namespace}/{adapter.name}/{digest}"


def job_name(adapter: AdapterResource) -> str:
    """`ragtune-train-<adapter>-<digest>`, within the 63 characters a Job's pods label it by."""
    return f"ragtune-train-{adapter.name[:36].rstrip('-.')}-{training_digest(adapter.spec)[:8]}"


def training_job(adapter: AdapterResource, settings: OperatorSettings) -> dict[str, Any]:
    """The Job manifest; TrainingRefused if the dataset cannot be reached from the Job."""
    training = adapter.spec.training
    if training is None:
        raise ValueError(f"adapter {adapter.name} has no training spec")
    volumes: list[dict[str, Any]] = [
        {"name": "artifacts", "persistentVolumeClaim": {"claimName": settings.artifacts_claim}}
    ]
    mounts: list[dict[str, Any]] = [{"name": "artifacts", "mountPath": settings.artifacts_root}]
    dataset = training.dataset_ref
    if dataset.config_map is not None:
        data = f"{DATASET_DIR}/{DATASET_FILE}"
        volumes.append(
            {
                "name": "dataset",
                "configMap": {
                    "name": dataset.config_map.name,
                    "items": [{"key": dataset.config_map.key, "path": DATASET_FILE}],
                },
            }
        )
        mounts.append({"name": "dataset", "mountPath": DATASET_DIR, "readOnly": True})
    else:
        data = str(dataset.path)
        root = settings.artifacts_root.rstrip("/") + "/"
        if not data.startswith(root) or "/../" in data:
            raise TrainingRefused(
                f"training.datasetRef.path {data!r} is not under the artifacts volume "
                f"({root}); put the dataset there or use a configMap"
            )
    spec = adapter.spec
    command = [
        "ragtune", "train",
        "--data", data,
        "--out", artifact_path(adapter, settings),
        "--purpose", spec.purpose,
        "--base", spec.base_model,
        "--epochs", str(training.epochs),
        "--rank", str(training.rank),
        "--alpha", str(training.alpha),
        "--learning-rate", str(training.learning_rate),
        "--report", TERMINATION_LOG,
    ]  # fmt: skip
    labels = {
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.COMPONENT_LABEL: "training",
        f"{c.LABEL_PREFIX}adapter": adapter.name,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(adapter),
            "namespace": adapter.namespace,
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": c.API_VERSION,
                    "kind": c.ADAPTER_KIND,
                    "name": adapter.name,
                    "uid": adapter.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "backoffLimit": settings.training_backoff_limit,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
                    "volumes": volumes,
                    "containers": [
                        {
                            "name": "train",
                            "image": settings.serving_image,
                            "command": command,
                            "env": [{"name": "HF_HUB_OFFLINE", "value": "1"}],
                            "resources": {
                                "requests": {
                                    "cpu": settings.training_cpu,
                                    "memory": settings.training_memory,
                                },
                                "limits": {"memory": settings.training_memory},
                            },
                            "volumeMounts": mounts,
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                        }
                    ],
                },
            },
        },
    }
