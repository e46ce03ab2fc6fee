"""The serving gateway's HTTP/JSON door, as the operator uses it: ingest, describe, drop.

Standard library only (the operator image has no gRPC). Bodies are the proto JSON forms of the
`ragtune.v1` messages.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any


class GatewayUnreachable(RuntimeError):
    """Nothing answered at the gateway's address (not deployed yet, or down)."""


class GatewayError(RuntimeError):
    """The gateway answered with an error status; `code` is the gRPC code name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _call(url: str, method: str, body: Any, timeout_s: float, token: str | None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            detail = json.loads(text)
            raise GatewayError(str(detail["code"]), str(detail["message"])) from error
        except (ValueError, KeyError, TypeError):
            raise GatewayError(f"HTTP {error.code}", text[:500]) from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise GatewayUnreachable(f"{method} {url}: {error}") from error
    try:
        result: dict[str, Any] = json.loads(payload) if payload.strip() else {}
    except ValueError as error:
        raise GatewayError("INVALID_RESPONSE", f"{method} {url}: not JSON") from error
    return result


def ingest(
    base_url: str, request: dict[str, Any], timeout_s: float, token: str | None = None
) -> dict[str, Any]:
    """POST /v1/ingest: an `IngestRequest` → its `IngestResponse`. `token`, here and below:
    the bearer token of a knowledge base that requires one."""
    return _call(f"{base_url}/v1/ingest", "POST", request, timeout_s, token)


def describe(
    base_url: str, namespace: str, name: str, timeout_s: float = 10.0, token: str | None = None
) -> dict[str, Any]:
    """GET a knowledge base's `KnowledgeBase` record (counts, settings, loaded adapters)."""
    url = f"{base_url}/v1/knowledgebases/{namespace}/{name}"
    return _call(url, "GET", None, timeout_s, token)


def drop(
    base_url: str, namespace: str, name: str, timeout_s: float = 60.0, token: str | None = None
) -> bool:
    """Drop a knowledge base's collections; True when it existed."""
    url = f"{base_url}/v1/knowledgebases/{namespace}/{name}"
    reply = _call(url, "DELETE", None, timeout_s, token)
    return bool(reply.get("existed"))
