"""Fetch a KnowledgeBase's documents from its sources: inline, ConfigMaps, URLs, paths.

Paths are read where the operator runs: mount the volume into the operator (and, for the
Serve replicas, nothing is needed — the operator sends the text). A directory yields every
regular file under it, named by its relative path.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from ragtune_operator.clients import kube
from ragtune_operator.reconcile.documents import (
    Document,
    config_map_documents,
    document,
    inline_documents,
)
from ragtune_operator.specs import KnowledgeBaseSpec

MAX_SOURCE_BYTES = 16 * 1024 * 1024
SKIPPED = {".git", "__pycache__"}


class SourceUnavailable(RuntimeError):
    """A source could not be read; the message names it and says why."""


def documents(
    spec: KnowledgeBaseSpec, namespace: str, name: str, timeout_s: float = 30.0
) -> list[Document]:
    """Every document the knowledge base's sources hold now."""
    found = inline_documents(spec, namespace, name)
    for source in spec.sources:
        if source.config_map is not None:
            found += _config_map(namespace, source.config_map.name)
        elif source.url is not None:
            found.append(_url(source.url, timeout_s))
        elif source.path is not None:
            found += _path(Path(source.path))
    return found


def _config_map(namespace: str, name: str) -> list[Document]:
    contents = kube.config_map(namespace, name)
    if contents is None:
        raise SourceUnavailable(f"ConfigMap {namespace}/{name} (a source) does not exist")
    return config_map_documents(namespace, name, *contents)


def _url(url: str, timeout_s: float) -> Document:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = response.read(MAX_SOURCE_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        raise SourceUnavailable(f"source {url} could not be fetched: {error}") from error
    if len(body) > MAX_SOURCE_BYTES:
        raise SourceUnavailable(f"source {url} is larger than {MAX_SOURCE_BYTES} bytes")
    return document(url, body, url)


def _path(root: Path) -> list[Document]:
    if root.is_file():
        return [document(root.name, root.read_bytes(), root.as_uri())]
    if not root.is_dir():
        raise SourceUnavailable(f"source path {root} does not exist where the operator runs")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not SKIPPED.intersection(p.relative_to(root).parts)
    )
    return [document(str(p.relative_to(root)), p.read_bytes(), p.as_uri()) for p in files]
