"""Chunk windows stay within size, overlap exactly, cover every token and prefer sentence ends."""

from __future__ import annotations

import itertools

import pytest

from ragtune_serving.errors import InvalidArgument
from ragtune_serving.rag.chunking import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    TokenSpan,
    chunk_document,
    word_token_spans,
)
from ragtune_serving.rag.records import Chunk, TextDocument

PROSE = (
    "Ragtune serves knowledge bases. Each document is cut into chunks!\n\n"
    "Chunks overlap, so a sentence that straddles two windows is still found? "
    "The tokenizer's offsets map tokens back to characters; version 3.14 costs 1,000 units. "
) * 6


def _doc(text: str) -> TextDocument:
    return TextDocument(
        id="doc-7", text=text, content_hash="h" * 64, source_uri="file:///x", metadata={"k": "v"}
    )


def _token_range(chunk: Chunk, spans: list[TokenSpan]) -> tuple[int, int]:
    """Index of the chunk's first token and one past its last."""
    first = next(i for i, span in enumerate(spans) if span[0] == chunk.start)
    last = max(i for i, span in enumerate(spans) if span[1] == chunk.end)
    return first, last + 1


def test_default_settings_are_accepted_by_the_chunker() -> None:
    text = " ".join(f"w{i}" for i in range(500))
    doc = TextDocument("d", text, "h")
    chunks = chunk_document(
        doc, word_token_spans(text), size=DEFAULT_CHUNK_SIZE, overlap=DEFAULT_CHUNK_OVERLAP
    )
    assert 0 <= DEFAULT_CHUNK_OVERLAP < DEFAULT_CHUNK_SIZE
    assert len(chunks) > 1


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("It's 3.14 or 1,000.", ["It's", "3.14", "or", "1,000", "."]),
        ("state-of-the-art (v2)", ["state-of-the-art", "(", "v2", ")"]),
        ("  \n\t ", []),
        ("naïve café", ["naïve", "café"]),
    ],
)
def test_word_tokens(text: str, tokens: list[str]) -> None:
    assert [text[start:end] for start, end in word_token_spans(text)] == tokens


@pytest.mark.parametrize(("size", "overlap"), [(1, 0), (5, 0), (8, 3), (16, 4), (32, 31), (7, 6)])
def test_windows_are_bounded_overlap_exactly_and_cover_every_token(size: int, overlap: int) -> None:
    doc = _doc(PROSE)
    spans = word_token_spans(PROSE)
    chunks = chunk_document(doc, spans, size=size, overlap=overlap)
    ranges = [_token_range(chunk, spans) for chunk in chunks]

    assert ranges[0][0] == 0
    assert ranges[-1][1] == len(spans)
    for first, end in ranges:
        assert 1 <= end - first <= size
    for (first, end), (next_first, next_end) in itertools.pairwise(ranges):
        assert next_first > first
        assert next_end > end
        assert end - next_first == overlap


def test_chunk_text_is_the_substring_at_its_offsets() -> None:
    doc = _doc(PROSE)
    for chunk in chunk_document(doc, word_token_spans(PROSE), size=12, overlap=3):
        assert chunk.text == PROSE[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip()


def test_chunks_are_numbered_and_carry_document_fields() -> None:
    chunks = chunk_document(_doc(PROSE), word_token_spans(PROSE), size=10, overlap=2)
    assert [chunk.number for chunk in chunks] == list(range(len(chunks)))
    assert [chunk.id for chunk in chunks] == [f"doc-7#{n}" for n in range(len(chunks))]
    for chunk in chunks:
        assert chunk.document_id == "doc-7"
        assert chunk.content_hash == "h" * 64
        assert chunk.source_uri == "file:///x"
        assert chunk.metadata == {"k": "v"}


def test_chunking_is_deterministic() -> None:
    spans = word_token_spans(PROSE)
    first = chunk_document(_doc(PROSE), spans, size=20, overlap=5)
    second = chunk_document(_doc(PROSE), word_token_spans(PROSE), size=20, overlap=5)
    assert first == second


def test_window_ends_at_a_sentence_end_in_its_last_third() -> None:
    text = "one two three four five six seven. eight nine ten eleven twelve"
    # Tokens: 7 words, '.', 5 words. The '.' is token 8 of a 10-token window.
    chunks = chunk_document(_doc(text), word_token_spans(text), size=10, overlap=0)
    assert chunks[0].text == "one two three four five six seven."
    assert chunks[1].text == "eight nine ten eleven twelve"


def test_window_ends_before_a_blank_line() -> None:
    text = "alpha beta gamma delta epsilon zeta eta\n\ntheta iota kappa lambda mu"
    chunks = chunk_document(_doc(text), word_token_spans(text), size=9, overlap=0)
    assert chunks[0].text == "alpha beta gamma delta epsilon zeta eta"
    assert chunks[1].text.startswith("theta")


def test_sentence_end_too_early_in_the_window_is_not_used() -> None:
    text = "one two. three four five six seven eight nine ten eleven twelve"
    chunks = chunk_document(_doc(text), word_token_spans(text), size=9, overlap=0)
    assert chunks[0].text == "one two. three four five six seven eight"


def test_sentence_end_respects_overlap_and_progress() -> None:
    text = "a b c d e. f g h i j k l m n o p"
    spans = word_token_spans(text)
    chunks = chunk_document(_doc(text), spans, size=8, overlap=4)
    ranges = [_token_range(chunk, spans) for chunk in chunks]
    assert ranges[0] == (0, 6)  # ends after "e."
    for (first, end), (next_first, _) in itertools.pairwise(ranges):
        assert next_first > first
        assert end - next_first == 4


def test_works_with_model_style_spans_that_include_leading_spaces() -> None:
    text = "Hi there. How are you today? Fine."
    spans = [(0, 2), (2, 8), (8, 9), (9, 13), (13, 17), (17, 21), (21, 27), (27, 28), (28, 33)]
    spans.append((33, 34))
    chunks = chunk_document(_doc(text), spans, size=4, overlap=1)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
    assert chunks[-1].end == len(text)


def test_document_without_tokens_gives_no_chunks() -> None:
    assert chunk_document(_doc("   "), word_token_spans("   "), size=4, overlap=1) == []


def test_short_document_gives_one_chunk() -> None:
    chunks = chunk_document(_doc("Just this."), word_token_spans("Just this."), size=50, overlap=10)
    assert [(c.text, c.start, c.end) for c in chunks] == [("Just this.", 0, 10)]


@pytest.mark.parametrize(
    ("size", "overlap", "field"),
    [
        (0, 0, "chunk_size"),
        (-3, 0, "chunk_size"),
        (4, 4, "chunk_overlap"),
        (4, -1, "chunk_overlap"),
    ],
)
def test_invalid_settings_are_refused(size: int, overlap: int, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        chunk_document(_doc("a b c"), word_token_spans("a b c"), size=size, overlap=overlap)
    assert caught.value.field == field


@pytest.mark.parametrize("spans", [[(2, 3), (0, 1)], [(0, 99)], [(3, 1)]])
def test_bad_spans_are_rejected(spans: list[TokenSpan]) -> None:
    with pytest.raises(ValueError, match="token span"):
        chunk_document(_doc("a b c"), spans, size=4, overlap=1)


def test_invariants_hold_for_many_settings() -> None:
    spans = word_token_spans(PROSE)
    doc = _doc(PROSE)
    for size in range(1, 40):
        for overlap in range(size):
            chunks = chunk_document(doc, spans, size=size, overlap=overlap)
            ranges = [_token_range(chunk, spans) for chunk in chunks]
            assert ranges[0][0] == 0 and ranges[-1][1] == len(spans)
            assert all(end - first <= size for first, end in ranges)
            pairs = itertools.pairwise(ranges)
            assert all(b[0] > a[0] and a[1] - b[0] == overlap for a, b in pairs)
