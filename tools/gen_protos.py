"""Generate the Python gRPC stubs from protos/ into a folder (default protos/gen/python).

`make protos` runs it; tests/unit/test_generated_stubs.py runs it into a temporary folder and
compares, so committed stubs can never go stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "protos"
PROTOS = sorted(p.relative_to(PROTO_ROOT).as_posix() for p in PROTO_ROOT.glob("ragtune/**/*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every proto under out_dir."""
    import grpc_tools
    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTOS,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed: {' '.join(args)}")
    for package_dir in {out_dir / Path(p).parent for p in PROTOS}:
        for folder in (package_dir, *package_dir.parents):
            if folder == out_dir or out_dir not in folder.parents:
                break
            (folder / "__init__.py").touch()
    return sorted(p for p in out_dir.rglob("*") if p.is_file())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "protos" / "gen" / "python"
    for path in generate(target):
        print(path.relative_to(target))
