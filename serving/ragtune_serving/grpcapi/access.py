"""Bearer tokens: who may call a knowledge base that requires one. Pure.

A client sends `authorization: Bearer <token>` (gRPC metadata, or the HTTP header). The gateway
holds only each token's SHA-256 digest and compares digests with `hmac.compare_digest`: equal
length inputs, so the time taken does not depend on how much of a guess is right.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from ragtune_serving.config import KnowledgeBaseAccess, token_digest
from ragtune_serving.errors import Unauthenticated
from ragtune_serving.rag.records import KnowledgeBaseRef

HEADER = "authorization"
SCHEME = "bearer"


def bearer_token(headers: Iterable[tuple[str, str | bytes]]) -> str | None:
    """The token of the first `authorization: Bearer ...` entry, or None without one."""
    for key, value in headers:
        if key.lower() != HEADER:
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        scheme, _, token = text.strip().partition(" ")
        if scheme.lower() == SCHEME and token.strip():
            return token.strip()
        return None
    return None


def authorize(
    ref: KnowledgeBaseRef,
    access: Mapping[str, KnowledgeBaseAccess],
    token: str | None,
) -> None:
    """Return if `token` may call knowledge base `ref`; raise Unauthenticated otherwise.
    A knowledge base without an entry in `access` is open to every caller."""
    required = access.get(str(ref))
    if required is None:
        return
    if token is None:
        raise Unauthenticated(
            f"knowledge base {ref} requires a bearer token: send the metadata "
            "`authorization: Bearer <token>`"
        )
    if not hmac.compare_digest(token_digest(token), required.token_sha256):
        raise Unauthenticated(f"the bearer token is not valid for knowledge base {ref}")
