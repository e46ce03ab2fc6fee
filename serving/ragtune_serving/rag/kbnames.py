"""Knowledge base names: parse `namespace/name` and derive the Milvus names behind it."""

from __future__ import annotations

import hashlib
import re

from ragtune_serving.errors import InvalidArgument
from ragtune_serving.rag.records import KnowledgeBaseRef

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(_LABEL)
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_MAX_NAMESPACE = 63
_MAX_NAME = 253

_MILVUS_MAX_NAME = 255
# Room kept for the `_v<version>` suffix of collection_name (up to 10 digits).
_VERSION_SUFFIX_ROOM = len("_v") + 10
_HASH_HEX = 8
_FIELD = "knowledge_base"


def parse_kb_ref(text: str) -> KnowledgeBaseRef:
    """Parse `namespace/name`; raise InvalidArgument naming the bad part otherwise."""
    expected = "expected `namespace/name`, e.g. `default/handbook`"
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidArgument(
            f"{text!r} is not a knowledge base reference: {expected}", field=_FIELD
        )
    namespace, name = parts
    if len(namespace) > _MAX_NAMESPACE or not _DNS_LABEL.fullmatch(namespace):
        raise InvalidArgument(
            f"namespace {namespace!r} in {text!r} must be a DNS-1123 label (lowercase letters, "
            f"digits and '-', starting and ending with a letter or digit, at most "
            f"{_MAX_NAMESPACE} characters); {expected}",
            field=_FIELD,
        )
    if len(name) > _MAX_NAME or not _DNS_SUBDOMAIN.fullmatch(name):
        raise InvalidArgument(
            f"name {name!r} in {text!r} must be a DNS-1123 subdomain (lowercase letters, digits, "
            f"'-' and '.', each dot-separated part starting and ending with a letter or digit, "
            f"at most {_MAX_NAME} characters); {expected}",
            field=_FIELD,
        )
    return KnowledgeBaseRef(namespace=namespace, name=name)


def _milvus_safe(part: str) -> str:
    return part.replace("-", "_").replace(".", "_")


def collection_alias(ref: KnowledgeBaseRef) -> str:
    """The Milvus alias for `ref`: readable, deterministic, and distinct for distinct refs.

    `rt_<namespace>__<name>_<8 hex of sha256("namespace/name")>`, with '-' and '.' turned
    into '_'. The readable part is cut so that even `collection_name(ref, version)` stays
    within Milvus's 255-character limit; the hash keeps cut or look-alike names apart.
    """
    digest = hashlib.sha256(str(ref).encode("utf-8")).hexdigest()[:_HASH_HEX]
    readable = f"rt_{_milvus_safe(ref.namespace)}__{_milvus_safe(ref.name)}"
    room = _MILVUS_MAX_NAME - _VERSION_SUFFIX_ROOM - len(digest) - 1
    return f"{readable[:room]}_{digest}"


def collection_name(ref: KnowledgeBaseRef, version: int) -> str:
    """The physical collection holding `version` of `ref`; the alias points at one of them."""
    if version < 0:
        raise InvalidArgument(
            f"collection version must be 0 or more, got {version}", field="version"
        )
    return f"{collection_alias(ref)}_v{version}"
