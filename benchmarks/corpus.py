"""The benchmarks' corpus: real English prose that ships on every machine with Python — the
docstrings of the standard library and of the installed packages (numpy, torch,
transformers… document themselves at length) — cut into chunks by ragtune's own chunker.

Random vectors would make every index look bad; these are what a docs knowledge base holds.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import random
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ragtune_serving.rag.chunking import chunk_document, word_token_spans
from ragtune_serving.rag.records import Chunk, TextDocument

SKIPPED_DIRS = {"test", "tests", "idlelib", "site-packages"}


def documents(limit_chars: int) -> list[tuple[str, str]]:
    """(module path, its docstrings joined), up to about `limit_chars` characters in all, in a
    fixed order (the same corpus on every run of the same installation)."""
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    found: list[tuple[str, str]] = []
    total = 0
    files = [(root, path) for root in roots for path in sorted(root.rglob("*.py"))]
    for root, path in files:
        if SKIPPED_DIRS & set(path.relative_to(root).parts):
            continue
        text = _docstrings(path)
        if len(text) > 400:
            found.append((path.relative_to(root).as_posix(), text))
            total += len(text)
        if total >= limit_chars:
            break
    return found


def _docstrings(path: Path) -> str:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return ""
    docs = [
        ast.get_docstring(node) or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return "\n\n".join(d for d in docs if len(d) > 80)


def chunks(count: int, *, size: int = 48, overlap: int = 8) -> list[Chunk]:
    """The first `count` distinct chunks of the corpus, cut by ragtune's chunker (word tokens).

    Distinct: installed packages repeat docstrings (vendored copies, overloads) and two chunks
    of the same text tie in every search, which makes recall against exact search meaningless.
    Kept in benchmarks/.cache for the same installed packages and chunker (parsing every
    installed module takes about two minutes here).
    """
    cached = CACHE / f"chunks-{count}-{size}-{overlap}-{_installation()}.json"
    if cached.exists():
        return [Chunk(**fields) for fields in json.loads(cached.read_text())]
    found = _distinct_chunks(count, size, overlap)
    CACHE.mkdir(exist_ok=True)
    cached.write_text(json.dumps([dataclasses.asdict(chunk) for chunk in found]))
    return found


def _installation() -> str:
    """A digest of what the corpus is made from: Python, the installed distributions and
    ragtune's chunker."""
    from ragtune_serving.rag import chunking

    parts = [sys.version, Path(chunking.__file__).read_text()]
    parts += sorted(
        f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _distinct_chunks(count: int, size: int, overlap: int) -> list[Chunk]:
    out: list[Chunk] = []
    seen: set[str] = set()
    for chunk in _all_chunks(size, overlap):
        if chunk.text in seen:
            continue
        seen.add(chunk.text)
        out.append(chunk)
        if len(out) == count:
            return out
    raise RuntimeError(
        f"the installed packages hold only {len(out)} chunks of docstrings, not {count}"
    )


def _all_chunks(size: int, overlap: int) -> Iterator[Chunk]:
    for name, text in documents(limit_chars=10**10):
        digest = hashlib.sha256(text.encode()).hexdigest()
        doc = TextDocument(id=name, text=text, content_hash=digest, source_uri=f"pydoc:{name}")
        yield from chunk_document(doc, word_token_spans(text), size=size, overlap=overlap)


def questions(texts: list[str], count: int, seed: int = 7) -> list[str]:
    """Questions made from the first sentence of chunks drawn at random: realistic, and each
    answerable from the corpus."""
    picked = random.Random(seed).sample(range(len(texts)), count)
    out = []
    for index in picked:
        sentence = texts[index].split(".")[0].strip().replace("\n", " ")
        out.append(f"What does the documentation say about: {sentence[:160]}?")
    return out


CACHE = Path(__file__).resolve().parent / ".cache"


def embeddings(texts: list[str], *, batch_size: int = 128) -> np.ndarray:
    """The packaged embedding model's normalised vectors of `texts` (float32, N×384). Vectors
    are cached by text in benchmarks/.cache (every text embedded once, whichever run asked):
    on this 2-core machine the model embeds ~40-80 chunks/s, so a first run at 100k chunks
    takes most of an hour, later runs seconds."""
    known = _cached()
    missing = sorted({t for t in texts if t not in known})
    if missing:
        from sentence_transformers import SentenceTransformer

        from ragtune_serving.config import PACKAGED_EMBEDDING
        from ragtune_serving.models import resolve_model

        model = SentenceTransformer(resolve_model(PACKAGED_EMBEDDING).name_or_path, device="cpu")
        vectors = np.asarray(
            model.encode(
                missing, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=True
            ),
            dtype=np.float32,
        )
        CACHE.mkdir(exist_ok=True)
        digest = hashlib.sha256("\x00".join(missing).encode()).hexdigest()[:16]
        np.savez(CACHE / f"embeddings-{digest}.npz", texts=np.asarray(missing), vectors=vectors)
        known.update(zip(missing, vectors, strict=True))
    return np.stack([known[t] for t in texts]).astype(np.float32)


@functools.cache
def _cached() -> dict[str, np.ndarray]:
    """Every cached vector by text, read once per process (embeddings() adds new ones)."""
    known: dict[str, np.ndarray] = {}
    for path in sorted(CACHE.glob("embeddings-*.npz")):
        with np.load(path) as saved:
            known.update(zip((str(t) for t in saved["texts"]), saved["vectors"], strict=True))
    return known
