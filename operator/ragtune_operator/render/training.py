"""What trains an Adapter: `ragtune train`, as a user would run it, in a Kubernetes Job or,
where KubeRay runs, a RayJob.

Pure. Either runs the serving image's `ragtune train` on the Adapter's dataset (a ConfigMap
key mounted as a file, or a path under the artifacts volume) and writes the adapter to a
directory named by a digest of everything that shapes it, so a changed spec trains anew and an
unchanged one never twice. Its metrics end in a pod's termination message (the Job's pod, or
the RayJob's submitter pod, which copies them from the artifacts volume once the Ray job
succeeded), where the operator reads the final loss without reaching into the volume.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from typing import Any

from ragtune_operator import conventions as c
from ragtune_operator.render.objects import owned_metadata
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import AdapterResource, AdapterSpec

DATASET_DIR = "/var/run/ragtune/dataset"
DATASET_FILE = "dataset.jsonl"
TERMINATION_LOG = "/dev/termination-log"
METRICS_FILE = "training_metrics.json"  # what `ragtune train` writes next to the adapter
RAYJOB_API_VERSION = "ray.io/v1"
MAX_NAME_CHARS = 47  # KubeRay names a RayJob's cluster <name>-<5 characters>, itself ≤ 53


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
    """`ragtune-train-<adapter>-<digest>`, short enough for a RayJob (its cluster's name and the
    labels of its pods are derived from it)."""
    name = f"ragtune-train-{adapter.name[:24].rstrip('-.')}-{training_digest(adapter.spec)[:8]}"
    assert len(name) <= MAX_NAME_CHARS
    return name


@dataclass(frozen=True, slots=True)
class _Run:
    """`ragtune train` for one adapter: its arguments and the volumes it reads and writes."""

    arguments: list[str]
    out: str
    volumes: list[dict[str, Any]]
    mounts: list[dict[str, Any]]


def _run(adapter: AdapterResource, settings: OperatorSettings) -> _Run:
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
    spec, out = adapter.spec, artifact_path(adapter, settings)
    arguments = [
        "ragtune", "train",
        "--data", data,
        "--out", out,
        "--purpose", spec.purpose,
        "--base", spec.base_model,
        "--epochs", str(training.epochs),
        "--rank", str(training.rank),
        "--alpha", str(training.alpha),
        "--learning-rate", str(training.learning_rate),
    ]  # fmt: skip
    return _Run(arguments, out, volumes, mounts)


def _metadata(adapter: AdapterResource) -> dict[str, Any]:
    return owned_metadata(
        c.ADAPTER_KIND,
        adapter.name,
        adapter.uid,
        name=job_name(adapter),
        namespace=adapter.namespace,
        labels=_labels(adapter),
    )


def _labels(adapter: AdapterResource) -> dict[str, str]:
    return {
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.COMPONENT_LABEL: "training",
        f"{c.LABEL_PREFIX}adapter": adapter.name,
    }


def _trainer(
    name: str, command: list[str] | None, run: _Run, settings: OperatorSettings
) -> dict[str, Any]:
    """The container that runs the training: the Job's pod, or the RayJob's head (whose
    command KubeRay supplies: `ray start --head`)."""
    return {
        "name": name,
        "image": settings.serving_image,
        **({"command": command} if command is not None else {}),
        "env": [{"name": "HF_HUB_OFFLINE", "value": "1"}],
        "resources": {
            "requests": {"cpu": settings.training_cpu, "memory": settings.training_memory},
            "limits": {"memory": settings.training_memory},
        },
        "volumeMounts": run.mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


SECURITY_CONTEXT = {"runAsNonRoot": True, "runAsUser": 1000}


def training_manifest(adapter: AdapterResource, settings: OperatorSettings) -> dict[str, Any]:
    """The RayJob where the operator runs with KubeRay (settings.trains_with_rayjob), else the
    Job; TrainingRefused if the dataset cannot be reached from it."""
    if settings.trains_with_rayjob:
        return training_rayjob(adapter, settings)
    return training_job(adapter, settings)


def training_job(adapter: AdapterResource, settings: OperatorSettings) -> dict[str, Any]:
    """The Job manifest: one pod runs `ragtune train` and reports to its termination log."""
    run = _run(adapter, settings)
    command = [*run.arguments, "--report", TERMINATION_LOG]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(adapter),
        "spec": {
            "backoffLimit": settings.training_backoff_limit,
            "template": {
                "metadata": {"labels": _labels(adapter)},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": SECURITY_CONTEXT,
                    "volumes": run.volumes,
                    "containers": [_trainer("train", command, run, settings)],
                },
            },
        },
    }


def submitter_script(entrypoint: str, out: str) -> str:
    """The RayJob submitter's shell: submit the training to the Ray cluster (or, when KubeRay
    restarted the submitter, follow the one already submitted), then copy its metrics into the
    termination log. Only a training that succeeded wrote them: otherwise the copy fails, so
    does the submitter (`set -e`), and its log tail (the training's own error) becomes the
    termination message."""
    address = '"http://$RAY_DASHBOARD_ADDRESS"'
    job = '"$RAY_JOB_SUBMISSION_ID"'
    return (
        "set -e\n"
        f"if ray job status --address {address} {job} >/dev/null 2>&1; then\n"
        f"  ray job logs --address {address} --follow {job}\n"
        "else\n"
        f"  ray job submit --address {address} --submission-id {job} -- {entrypoint}\n"
        "fi\n"
        f"cp {shlex.quote(f'{out}/{METRICS_FILE}')} {TERMINATION_LOG}\n"
    )


def training_rayjob(adapter: AdapterResource, settings: OperatorSettings) -> dict[str, Any]:
    """The KubeRay RayJob manifest: a one-node Ray cluster (the head, sized for training, with
    the dataset and artifacts mounted) runs `ragtune train` as its Ray job and is deleted
    `training_ttl_s` after it finishes; the submitter pod reports the metrics."""
    run = _run(adapter, settings)
    entrypoint = shlex.join(run.arguments)
    artifacts_only = [v for v in run.volumes if v["name"] == "artifacts"]
    submitter = {
        "name": "submit",
        "image": settings.serving_image,
        "command": ["sh", "-c", submitter_script(entrypoint, run.out)],
        "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}},
        "volumeMounts": [
            {"name": "artifacts", "mountPath": settings.artifacts_root, "readOnly": True}
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return {
        "apiVersion": RAYJOB_API_VERSION,
        "kind": "RayJob",
        "metadata": _metadata(adapter),
        "spec": {
            "entrypoint": entrypoint,
            "submissionMode": "K8sJobMode",
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": settings.training_ttl_s,
            "backoffLimit": settings.training_backoff_limit,
            "submitterConfig": {"backoffLimit": settings.training_backoff_limit},
            "rayClusterSpec": {
                "rayVersion": settings.ray_version,
                "headGroupSpec": {
                    "rayStartParams": {},
                    "template": {
                        "metadata": {"labels": _labels(adapter)},
                        "spec": {
                            "securityContext": SECURITY_CONTEXT,
                            "volumes": run.volumes,
                            "containers": [_trainer("ray-head", None, run, settings)],
                        },
                    },
                },
            },
            "submitterPodTemplate": {
                "metadata": {"labels": _labels(adapter)},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": SECURITY_CONTEXT,
                    "volumes": artifacts_only,
                    "containers": [submitter],
                },
            },
        },
    }
