"""Document validation: turn client bytes into checked text, and hash what was stored."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping

from ragtune_serving.errors import DocumentRefused
from ragtune_serving.rag.records import SourceDocument, TextDocument

DEFAULT_MAX_DOCUMENT_BYTES = 2 * 1024 * 1024

MAX_ID_CHARS = 512
MAX_METADATA_VALUE_CHARS = 1024
_METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MAX_CONTROL_SHARE = 0.10
_ALLOWED_CONTROLS = frozenset("\n\r\t")
_BOM = "\ufeff"
_FIELD = "documents"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def _refuse(reason: str) -> DocumentRefused:
    return DocumentRefused(reason, field=_FIELD)


def _check_id(doc_id: str) -> None:
    if not doc_id:
        raise _refuse("document id is empty; give every document a non-empty id")
    if len(doc_id) > MAX_ID_CHARS:
        raise _refuse(
            f"document id is {len(doc_id)} characters, over the {MAX_ID_CHARS}-character "
            "limit; use a shorter id"
        )
    if any(_is_control(char) for char in doc_id):
        raise _refuse(
            f"document id {doc_id!r} contains control characters; use printable characters"
        )


def _check_metadata(metadata: Mapping[str, str]) -> None:
    for key, value in metadata.items():
        if not _METADATA_KEY.fullmatch(key):
            raise _refuse(f"metadata key {key!r} is invalid: use 1 to 64 of A-Z a-z 0-9 _ . -")
        if len(value) > MAX_METADATA_VALUE_CHARS:
            raise _refuse(
                f"metadata value of key {key!r} is {len(value)} characters, over the "
                f"{MAX_METADATA_VALUE_CHARS}-character limit"
            )


def _decode(content: bytes, max_bytes: int) -> str:
    if not content:
        raise _refuse("empty document: the content has no text")
    if len(content) > max_bytes:
        raise _refuse(
            f"{len(content)} bytes is over the {max_bytes}-byte limit; split the document"
        )
    if b"\x00" in content:
        raise _refuse("binary or not UTF-8 text: the content has NUL bytes")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _refuse(
            f"binary or not UTF-8 text: invalid UTF-8 at byte {error.start}; "
            "send UTF-8 encoded text"
        ) from error
    return text.removeprefix(_BOM).replace("\r\n", "\n")


def validate_document(doc: SourceDocument, *, max_bytes: int) -> TextDocument:
    """Check one client document and return its text; raise DocumentRefused with the reason.

    The BOM is stripped and CRLF line ends become LF before the text is hashed and stored.
    """
    _check_id(doc.id)
    _check_metadata(doc.metadata)
    text = _decode(doc.content, max_bytes)
    if not text.strip():
        raise _refuse("empty document: the content is only whitespace")
    controls = sum(1 for char in text if _is_control(char) and char not in _ALLOWED_CONTROLS)
    if controls > _MAX_CONTROL_SHARE * len(text):
        raise _refuse(
            f"binary: {controls} of {len(text)} characters are control characters; send plain text"
        )
    metadata = dict(doc.metadata)
    return TextDocument(
        id=doc.id,
        text=text,
        content_hash=content_hash(text, doc.source_uri, metadata),
        source_uri=doc.source_uri,
        metadata=metadata,
    )


def content_hash(text: str, source_uri: str, metadata: Mapping[str, str]) -> str:
    """sha256 hex of the text, source and metadata together: any change gives a new hash."""
    canonical = json.dumps(
        {"text": text, "source_uri": source_uri, "metadata": dict(metadata)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
