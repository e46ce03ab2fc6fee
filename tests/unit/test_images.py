"""The container images, as far as they can be checked without a container runtime: each
installs extras the package defines, runs as a non-root user, and starts what the chart and the
operator's manifests expect (`ragtune operator`, the serving ports)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
EXTRAS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    return [(line.split()[0].upper(), line.partition(" ")[2]) for line in lines]


def test_the_images_install_defined_extras_and_run_as_non_root() -> None:
    for path in (REPO / "serving/Dockerfile", REPO / "operator/Dockerfile"):
        steps = _instructions(path)
        installs = " ".join(arg for op, arg in steps if op == "RUN")
        for extra in re.findall(r'"\.\[([a-z,]+)\]"', installs):
            assert set(extra.split(",")) <= set(EXTRAS), (path, extra)
        users = [arg for op, arg in steps if op == "USER"]
        assert users and users[-1] not in ("0", "root"), path
        for op, arg in steps:
            if op == "COPY":
                assert (REPO / arg.split()[0]).exists(), (path, arg)


def test_the_operator_image_runs_what_the_chart_asks_for() -> None:
    steps = dict(_instructions(REPO / "operator/Dockerfile"))
    assert steps["ENTRYPOINT"] == '["ragtune"]' and "torch" not in EXTRAS["operator"]
    values = yaml.safe_load((REPO / "helm/ragtune/values.yaml").read_text())
    assert values["metrics"]["port"] == 9501 and "9501" in steps["EXPOSE"]


def test_the_serving_image_has_tensorrt_llm_and_exposes_the_serving_ports() -> None:
    steps = _instructions(REPO / "serving/Dockerfile")
    assert any(op == "FROM" and "TRTLLM_IMAGE" in arg for op, arg in steps)
    assert any(
        "import ragtune_serving.cli, tensorrt_llm" in arg for op, arg in steps if op == "RUN"
    )
    exposed = " ".join(arg for op, arg in steps if op == "EXPOSE").split()
    assert {"9000", "8000", "9500"} <= set(exposed)
