"""Generated files are reproducible: the committed gRPC stubs equal a fresh `make protos`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "protos" / "gen" / "python"


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_protos", REPO / "tools" / "gen_protos.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_the_protos(tmp_path: Path) -> None:
    fresh = _generator().generate(tmp_path)  # type: ignore[attr-defined]
    fresh_files = {p.relative_to(tmp_path): p.read_bytes() for p in fresh}
    committed = {
        p.relative_to(COMMITTED): p.read_bytes()
        for p in COMMITTED.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    stale = sorted(str(name) for name in fresh_files if committed.get(name) != fresh_files[name])
    extra = sorted(str(name) for name in set(committed) - set(fresh_files))
    assert not stale, f"stale stubs, run `make protos`: {stale}"
    assert not extra, f"stubs without a proto, delete them: {extra}"


def test_no_package_shadows_the_standard_library_operator_module() -> None:
    import operator

    assert operator.__file__ is not None
    assert Path(operator.__file__).parent == Path(sys.modules["os"].__file__ or "").parent
    assert not (REPO / "operator" / "__init__.py").exists()
    assert not (REPO / "serving" / "__init__.py").exists()
