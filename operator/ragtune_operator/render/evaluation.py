"""What runs an Evaluation: `ragtune eval`, as a user would run it, in a Kubernetes Job.

Pure. The Job's pod asks the knowledge base's gRPC endpoint every question in every mode, writes
the full output (report, every measurement, the chart) under the artifacts volume and leaves the
compact summary in its termination message, from which the operator writes status and the report
ConfigMap. Named by a digest of the object and its spec: an edited spec runs anew, an unchanged
one never twice.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ragtune_operator import conventions as c
from ragtune_operator.render.objects import owned_metadata
from ragtune_operator.render.rayservice import spec_hash
from ragtune_operator.render.training import SECURITY_CONTEXT, TERMINATION_LOG
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import EvaluationResource, SecretKeyRef

QUESTIONS_DIR = "/var/run/ragtune/questions"
QUESTIONS_FILE = "questions.jsonl"
DEADLINE_S = 6 * 3600  # a stuck evaluation fails instead of running for ever
REPORT_SUFFIX = "-report"


def evaluation_digest(evaluation: EvaluationResource) -> str:
    """Digest of the object (its uid: a re-created one runs again) and its spec."""
    spec = evaluation.spec.model_dump(mode="json", by_alias=True)
    shaping = json.dumps({"uid": evaluation.uid, "spec": spec}, sort_keys=True)
    return hashlib.sha256(shaping.encode()).hexdigest()[:12]


def job_name(evaluation: EvaluationResource) -> str:
    """`ragtune-eval-<name>-<digest>`: at most 52 characters, so it fits a label value."""
    name = evaluation.name[:30].rstrip("-.")
    return f"ragtune-eval-{name}-{evaluation_digest(evaluation)[:8]}"


def report_config_map_name(evaluation: EvaluationResource) -> str:
    return f"{evaluation.name[: 253 - len(REPORT_SUFFIX)]}{REPORT_SUFFIX}"


def artifacts_dir(evaluation: EvaluationResource, settings: OperatorSettings) -> str:
    """Where the Job writes report.md, results.json and the chart."""
    root = settings.artifacts_root.rstrip("/")
    digest = evaluation_digest(evaluation)
    return f"{root}/evaluations/{evaluation.namespace}/{evaluation.name}/{digest}"


def questions_source(evaluation: EvaluationResource) -> str:
    """How the report names where the questions came from."""
    source = evaluation.spec.questions.config_map
    if source is None:
        return f"{len(evaluation.spec.questions.inline or [])} questions in spec.questions.inline"
    return f"ConfigMap {source.name}, key {source.key}"


def questions_config_map_name(evaluation: EvaluationResource) -> str:
    """The ConfigMap of inline questions (one per spec, like the Job)."""
    return f"{job_name(evaluation)}-questions"


def _owned(evaluation: EvaluationResource, name: str) -> dict[str, Any]:
    return owned_metadata(
        c.EVALUATION_KIND,
        evaluation.name,
        evaluation.uid,
        name=name,
        namespace=evaluation.namespace,
        labels=_labels(evaluation),
    )


def _labels(evaluation: EvaluationResource) -> dict[str, str]:
    return {
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.COMPONENT_LABEL: "evaluation",
        f"{c.LABEL_PREFIX}evaluation": evaluation.name[:63].rstrip("-._"),
    }


def questions_config_map(evaluation: EvaluationResource) -> dict[str, Any] | None:
    """For inline questions, the ConfigMap the Job reads them from (JSON Lines, the format
    `ragtune eval --questions` reads); None when they come from the user's ConfigMap."""
    inline = evaluation.spec.questions.inline
    if inline is None:
        return None
    lines = [
        json.dumps(q.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for q in inline
    ]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _owned(evaluation, questions_config_map_name(evaluation)),
        "data": {QUESTIONS_FILE: "\n".join(lines) + "\n"},
    }


def _questions_volume(evaluation: EvaluationResource) -> dict[str, Any]:
    source = evaluation.spec.questions.config_map
    name, key = (
        (questions_config_map_name(evaluation), QUESTIONS_FILE)
        if source is None
        else (source.name, source.key)
    )
    return {
        "name": "questions",
        "configMap": {"name": name, "items": [{"key": key, "path": QUESTIONS_FILE}]},
    }


def eval_command(
    evaluation: EvaluationResource, endpoint: str, settings: OperatorSettings
) -> list[str]:
    """The `ragtune eval` command line the Job's pod runs."""
    spec = evaluation.spec
    command = [
        "ragtune", "eval",
        "--address", endpoint,
        "--kb", c.knowledge_base_address(evaluation.namespace, spec.knowledge_base),
        "--questions", f"{QUESTIONS_DIR}/{QUESTIONS_FILE}",
        "--out", artifacts_dir(evaluation, settings),
        "--summary", TERMINATION_LOG,
    ]  # fmt: skip
    if spec.modes:
        command += ["--modes", ",".join(spec.modes)]
    if spec.adapter:
        command += ["--adapter", spec.adapter]
    for flag, value in (
        ("--max-questions", spec.max_questions),
        ("--top-k", spec.top_k),
        ("--max-tokens", spec.max_tokens),
    ):
        if value is not None:
            command += [flag, str(value)]
    if spec.prices.prompt_per_1k or spec.prices.completion_per_1k:
        command += [
            "--price-in", str(spec.prices.prompt_per_1k),
            "--price-out", str(spec.prices.completion_per_1k),
        ]  # fmt: skip
    if spec.freshness.enabled:
        command += ["--freshness", "--freshness-timeout", str(spec.freshness.timeout_seconds)]
    return command


def evaluation_job(
    evaluation: EvaluationResource,
    endpoint: str,
    settings: OperatorSettings,
    token: SecretKeyRef | None = None,
) -> dict[str, Any]:
    """The Job: one pod (no retry: a half-run freshness check must not run twice) runs
    `ragtune eval` against `endpoint`, the knowledge base's gRPC address, with the knowledge
    base's bearer `token` (its Secret key) when it requires one."""
    container: dict[str, Any] = {
        "name": "eval",
        "image": settings.serving_image,
        "command": eval_command(evaluation, endpoint, settings),
        "resources": {
            "requests": {"cpu": "200m", "memory": "512Mi"},
            "limits": {"memory": "1Gi"},
        },
        "volumeMounts": [
            {"name": "questions", "mountPath": QUESTIONS_DIR, "readOnly": True},
            {"name": "artifacts", "mountPath": settings.artifacts_root},
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if token is not None:
        secret = {"name": token.name, "key": token.key}
        container["env"] = [{"name": "RAGTUNE_TOKEN", "valueFrom": {"secretKeyRef": secret}}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _owned(evaluation, job_name(evaluation)),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": DEADLINE_S,
            "template": {
                "metadata": {"labels": _labels(evaluation)},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": SECURITY_CONTEXT,
                    "volumes": [
                        _questions_volume(evaluation),
                        {
                            "name": "artifacts",
                            "persistentVolumeClaim": {"claimName": settings.artifacts_claim},
                        },
                    ],
                    "containers": [container],
                },
            },
        },
    }


def report_config_map(
    evaluation: EvaluationResource, report_markdown: str, summary_json: str
) -> dict[str, Any]:
    """The ConfigMap holding the report (the same report.md `ragtune eval` writes, less the
    chart) and the summary it was printed from; a re-run with an edited spec rewrites it."""
    data = {"report.md": report_markdown, "summary.json": summary_json}
    metadata = _owned(evaluation, report_config_map_name(evaluation))
    metadata["annotations"] = {c.SPEC_HASH_ANNOTATION: spec_hash({"data": data})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
