"""Fetch a KnowledgeBase's documents from its sources: inline, ConfigMaps, URLs, paths.

Paths are read where the operator runs, and only under `path_sources_root` (a volume mounted
into the operator; the Serve replicas need nothing, the operator sends the text): anything else,
such as the operator's own service-account token, is refused. A directory yields every regular
file under it, named by its relative path. URLs that resolve to loopback or link-local
addresses (the node's metadata service) are refused for the same reason.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

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
    spec: KnowledgeBaseSpec,
    namespace: str,
    name: str,
    *,
    paths_root: str,
    timeout_s: float = 30.0,
) -> list[Document]:
    """Every document the knowledge base's sources hold now."""
    found = inline_documents(spec, namespace, name)
    for source in spec.sources:
        if source.config_map is not None:
            found += _config_map(namespace, source.config_map.name)
        elif source.url is not None:
            found.append(_url(source.url, timeout_s))
        elif source.path is not None:
            found += _path(Path(source.path), paths_root)
    return found


def _config_map(namespace: str, name: str) -> list[Document]:
    contents = kube.config_map(namespace, name)
    if contents is None:
        raise SourceUnavailable(f"ConfigMap {namespace}/{name} (a source) does not exist")
    return config_map_documents(namespace, name, *contents)


def _url(url: str, timeout_s: float) -> Document:
    _refuse_local(url)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = response.read(MAX_SOURCE_BYTES + 1)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise SourceUnavailable(f"source {url} could not be fetched: {error}") from error
    if len(body) > MAX_SOURCE_BYTES:
        raise SourceUnavailable(f"source {url} is larger than {MAX_SOURCE_BYTES} bytes")
    return document(url, body, url)


def _refuse_local(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        raise SourceUnavailable(f"source {url}: cannot resolve {host!r} ({error})") from error
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
            raise SourceUnavailable(
                f"source {url} resolves to {ip}, a loopback or link-local address the "
                "operator does not fetch from"
            )


def _path(path: Path, root: str) -> list[Document]:
    if not root:
        raise SourceUnavailable(
            f"source path {path}: path sources are off; the operator reads them only under "
            "RAGTUNE_OPERATOR_PATH_SOURCES_ROOT (a volume mounted into it)"
        )
    resolved = path.resolve()
    if not resolved.is_relative_to(Path(root).resolve()):
        raise SourceUnavailable(f"source path {path} is outside {root}, where path sources live")
    try:
        if resolved.is_file():
            return [_file(resolved, resolved.name)]
        if not resolved.is_dir():
            raise SourceUnavailable(f"source path {path} does not exist where the operator runs")
        files = sorted(
            p
            for p in resolved.rglob("*")
            if p.is_file() and not SKIPPED.intersection(p.relative_to(resolved).parts)
        )
        return [_file(p, str(p.relative_to(resolved))) for p in files]
    except OSError as error:
        raise SourceUnavailable(f"source path {path} could not be read: {error}") from error


def _file(path: Path, doc_id: str) -> Document:
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise SourceUnavailable(f"source file {path} is larger than {MAX_SOURCE_BYTES} bytes")
    return document(doc_id, path.read_bytes(), path.as_uri())
