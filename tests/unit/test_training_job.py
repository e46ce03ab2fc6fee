"""An Adapter with `training` becomes a Job (or, with KubeRay, a RayJob) running `ragtune
train`; its status and a pod's termination message become the Adapter's training phase and
final loss."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ragtune_operator.reconcile.training import training_state
from ragtune_operator.render import training
from ragtune_operator.settings import OperatorSettings
from ragtune_operator.specs import AdapterResource, AdapterSpec
from ragtune_serving.cli import _parser

REPO = Path(__file__).resolve().parents[2]
SETTINGS = OperatorSettings(serving_image="registry.example/ragtune:1", artifacts_claim="shared")


def _example(**training_fields: Any) -> AdapterResource:
    spec = yaml.safe_load((REPO / "examples/kubernetes/adapter.yaml").read_text())["spec"]
    spec["training"].update(training_fields)
    return AdapterResource("team-a", "support-tone", "uid-1", 1, AdapterSpec.model_validate(spec))


def test_the_job_runs_ragtune_train_on_the_configmap_dataset() -> None:
    adapter = _example()
    job = training.training_job(adapter, SETTINGS)
    assert job["metadata"]["name"] == training.job_name(adapter)
    assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example/ragtune:1"
    command = container["command"]
    assert command[:2] == ["ragtune", "train"]
    # the command line is one the real CLI accepts, with the spec's values
    options = _parser().parse_args(command[1:])
    assert options.data == Path("/var/run/ragtune/dataset/dataset.jsonl")
    assert str(options.out) == training.artifact_path(adapter, SETTINGS)
    assert (options.purpose, options.epochs, options.rank, options.alpha) == (
        "generation",
        3,
        8,
        16,
    )
    assert options.learning_rate == 0.001 and options.report == Path("/dev/termination-log")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["dataset"]["configMap"] == {
        "name": "support-tone-data",
        "items": [{"key": "train.jsonl", "path": "dataset.jsonl"}],
    }
    assert volumes["artifacts"]["persistentVolumeClaim"]["claimName"] == "shared"


def test_a_changed_training_spec_trains_anew_under_another_name_and_directory() -> None:
    same, changed = _example(), _example(epochs=5)
    assert training.job_name(same) == training.job_name(_example())
    assert training.job_name(changed) != training.job_name(same)
    assert training.artifact_path(changed, SETTINGS) != training.artifact_path(same, SETTINGS)
    long = AdapterResource("team-a", "a" * 63, "u", 1, _example().spec)
    assert len(training.job_name(long)) <= training.MAX_NAME_CHARS


def test_a_dataset_path_outside_the_artifacts_volume_is_refused() -> None:
    outside = _example(datasetRef={"path": "/etc/passwd"})
    with pytest.raises(training.TrainingRefused, match="not under the artifacts volume"):
        training.training_job(outside, SETTINGS)
    inside = _example(datasetRef={"path": f"{SETTINGS.artifacts_root}/data/train.jsonl"})
    command = training.training_job(inside, SETTINGS)["spec"]["template"]["spec"]["containers"][0]
    assert f"{SETTINGS.artifacts_root}/data/train.jsonl" in command["command"]


METRICS = json.dumps({"final_loss": 0.2093, "skipped_lines": 2, "epochs": 3})


@pytest.mark.parametrize(
    ("job", "message", "phase", "reason", "loss"),
    [
        (None, "", "Pending", "JobPending", None),
        ({"status": {}}, "", "Training", "Training", None),
        ({"status": {"active": 1}}, "", "Training", "Training", None),
        (
            {"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}},
            METRICS,
            "Trained",
            "Trained",
            0.2093,
        ),
        ({"status": {"succeeded": 1}}, "not json", "Trained", "Trained", None),
        (
            {
                "status": {
                    "failed": 3,
                    "conditions": [
                        {"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}
                    ],
                }
            },
            "ragtune: no usable generation example (4 lines skipped)",
            "Failed",
            "TrainingFailed",
            None,
        ),
    ],
)
def test_training_state_follows_the_job(
    job: dict[str, Any] | None, message: str, phase: str, reason: str, loss: float | None
) -> None:
    state = training_state(job and {"kind": "Job", **job}, message, NOW)
    assert (state.phase, state.reason, state.final_loss) == (phase, reason, loss)
    if phase == "Failed":
        assert "BackoffLimitExceeded" in state.message and "no usable" in state.message
    if loss is not None:
        assert "final loss 0.2093; 2 dataset lines skipped" in state.message


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_kuberay_mode_trains_in_a_rayjob_and_direct_mode_in_a_job() -> None:
    adapter = _example()
    assert training.training_manifest(adapter, SETTINGS)["kind"] == "RayJob"
    direct = SETTINGS.model_copy(update={"direct_dashboard_url": "http://ray:8265"})
    assert training.training_manifest(adapter, direct)["kind"] == "Job"
    forced = SETTINGS.model_copy(update={"training_runner": "job"})
    assert training.training_manifest(adapter, forced)["kind"] == "Job"


def test_the_rayjob_runs_the_same_training_on_its_head_and_reports_from_its_submitter() -> None:
    adapter = _example()
    rayjob = training.training_rayjob(adapter, SETTINGS)
    job = training.training_job(adapter, SETTINGS)
    assert rayjob["apiVersion"] == "ray.io/v1"
    assert rayjob["metadata"] == job["metadata"]
    spec = rayjob["spec"]
    # The entrypoint is the Job's command line, less the termination-log report.
    (trainer,) = job["spec"]["template"]["spec"]["containers"]
    assert shlex.split(spec["entrypoint"]) == trainer["command"][:-2]
    assert _parser().parse_args(shlex.split(spec["entrypoint"])[1:]).out == Path(
        training.artifact_path(adapter, SETTINGS)
    )
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] == SETTINGS.training_ttl_s
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    (ray_head,) = head["containers"]
    assert "command" not in ray_head  # KubeRay supplies `ray start --head`
    assert ray_head["resources"] == trainer["resources"]
    assert head["volumes"] == job["spec"]["template"]["spec"]["volumes"]
    submitter = spec["submitterPodTemplate"]["spec"]
    (submit,) = submitter["containers"]
    assert [v["name"] for v in submitter["volumes"]] == ["artifacts"]
    assert submit["volumeMounts"][0]["readOnly"] is True
    script = submit["command"][2]
    assert f"-- {spec['entrypoint']}" in script
    assert f"{training.artifact_path(adapter, SETTINGS)}/training_metrics.json" in script


SUCCEEDED = {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}


@pytest.mark.parametrize(
    ("status", "message", "phase", "loss", "says"),
    [
        ({}, "", "Training", None, "Initializing, Ray job not submitted yet"),
        ({"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}, "", "Training", None, ""),
        # A failed attempt KubeRay retries is not a failed training.
        ({"jobDeploymentStatus": "Retrying", "jobStatus": "FAILED"}, "", "Training", None, ""),
        ({**SUCCEEDED, "endTime": "2026-11-26T11:59:30Z"}, METRICS, "Trained", 0.2093, ""),
        # Succeeded, the submitter not done copying the metrics yet: wait for them a while ...
        ({**SUCCEEDED, "endTime": "2026-11-26T11:59:30Z"}, "", "Training", None, "metrics"),
        # ... but not forever (the submitter pod may be gone with the cluster).
        ({**SUCCEEDED, "endTime": "2026-11-26T11:50:00Z"}, "", "Trained", None, "no metrics"),
        (
            {"jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "message": "Job failed"},
            "ragtune: no usable generation example",
            "Failed",
            None,
            "Job failed: ragtune: no usable generation example",
        ),
        (
            {"jobDeploymentStatus": "Failed", "reason": "DeadlineExceeded"},
            "",
            "Failed",
            None,
            "DeadlineExceeded",
        ),
    ],
)
def test_training_state_follows_the_rayjob(
    status: dict[str, Any], message: str, phase: str, loss: float | None, says: str
) -> None:
    state = training_state({"kind": "RayJob", "status": status}, message, NOW)
    assert (state.phase, state.final_loss) == (phase, loss)
    assert says in state.message
