"""Documents are refused for each stated reason, normalised, and hashed with their metadata."""

from __future__ import annotations

import pytest

from ragtune_serving.errors import DocumentRefused
from ragtune_serving.rag.documents import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    content_hash,
    validate_document,
)
from ragtune_serving.rag.records import SourceDocument


def _doc(
    content: bytes = b"Hello world.",
    *,
    doc_id: str = "doc-1",
    metadata: dict[str, str] | None = None,
) -> SourceDocument:
    return SourceDocument(
        id=doc_id, content=content, source_uri="s3://b/doc", metadata=metadata or {}
    )


def test_default_limit_is_two_mebibytes() -> None:
    assert DEFAULT_MAX_DOCUMENT_BYTES == 2 * 1024 * 1024


def test_valid_document_keeps_fields_and_hashes_them() -> None:
    text_doc = validate_document(_doc(metadata={"lang": "en"}), max_bytes=100)
    assert text_doc.id == "doc-1"
    assert text_doc.text == "Hello world."
    assert text_doc.source_uri == "s3://b/doc"
    assert text_doc.metadata == {"lang": "en"}
    assert text_doc.content_hash == content_hash("Hello world.", "s3://b/doc", {"lang": "en"})


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (_doc(doc_id=""), "document id is empty"),
        (_doc(doc_id="x" * 513), "over the 512-character limit"),
        (_doc(doc_id="a\nb"), "contains control characters"),
        (_doc(doc_id="a\x00b"), "contains control characters"),
        (_doc(b""), "empty document"),
        (_doc(b" \n\t\r\n "), "empty document"),
        (_doc("\ufeff  ".encode()), "empty document"),
        (_doc(b"x" * 101), "101 bytes is over the 100-byte limit"),
        (_doc(b"text\x00more"), "binary or not UTF-8 text"),
        (_doc(b"caf\xe9"), "binary or not UTF-8 text"),
        (_doc(b"\xff\xfe\x00h\x00i"), "binary or not UTF-8 text"),
        (_doc(b"abcdefgh\x01\x02"), "binary: 2 of 10 characters"),
        (_doc(metadata={"bad key": "v"}), "metadata key 'bad key'"),
        (_doc(metadata={"": "v"}), "metadata key ''"),
        (_doc(metadata={"k" * 65: "v"}), "metadata key"),
        (_doc(metadata={"long": "v" * 1025}), "key 'long'"),
    ],
)
def test_refusal_reasons(source: SourceDocument, reason: str) -> None:
    with pytest.raises(DocumentRefused) as caught:
        validate_document(source, max_bytes=100)
    assert reason in caught.value.message
    assert caught.value.field == "documents"


def test_control_characters_up_to_ten_percent_are_accepted() -> None:
    content = b"abcdefghi\x01"  # 1 of 10 characters
    assert validate_document(_doc(content), max_bytes=100).text == "abcdefghi\x01"


def test_tabs_and_newlines_are_not_counted_as_binary() -> None:
    content = b"a\t\t\t\n\n\n\r\r\rb"
    assert validate_document(_doc(content), max_bytes=100).text == "a\t\t\t\n\n\n\r\r\rb"


def test_exactly_max_bytes_is_accepted() -> None:
    assert validate_document(_doc(b"x" * 100), max_bytes=100).text == "x" * 100


def test_limits_on_id_and_metadata_are_inclusive() -> None:
    source = _doc(doc_id="x" * 512, metadata={"k" * 64: "v" * 1024, "a.b-c_D9": ""})
    assert validate_document(source, max_bytes=100).id == "x" * 512


def test_bom_is_stripped_and_crlf_normalised() -> None:
    content = "\ufeffline one\r\nline two\r\n".encode()
    assert validate_document(_doc(content), max_bytes=100).text == "line one\nline two\n"


def test_normalisation_does_not_change_the_hash_of_equal_text() -> None:
    crlf = validate_document(_doc(b"a\r\nb"), max_bytes=100)
    lf = validate_document(_doc(b"a\nb"), max_bytes=100)
    assert crlf.content_hash == lf.content_hash


def test_hash_is_stable_and_independent_of_metadata_order() -> None:
    first = content_hash("text", "uri", {"a": "1", "b": "2"})
    second = content_hash("text", "uri", {"b": "2", "a": "1"})
    assert first == second
    assert len(first) == 64
    assert first == content_hash("text", "uri", {"a": "1", "b": "2"})


@pytest.mark.parametrize(
    ("text", "uri", "metadata"),
    [
        ("text!", "uri", {"a": "1"}),
        ("text", "uri2", {"a": "1"}),
        ("text", "uri", {"a": "2"}),
        ("text", "uri", {"a": "1", "b": ""}),
        ("text", "uri", {}),
    ],
)
def test_hash_changes_with_text_source_or_metadata(
    text: str, uri: str, metadata: dict[str, str]
) -> None:
    assert content_hash(text, uri, metadata) != content_hash("text", "uri", {"a": "1"})


def test_hash_does_not_confuse_field_boundaries() -> None:
    assert content_hash("ab", "c", {}) != content_hash("a", "bc", {})
