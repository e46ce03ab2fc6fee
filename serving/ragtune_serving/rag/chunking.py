"""Chunking: cut a document into overlapping token windows that end at sentences when they can.

Tokens come as character spans, from a model tokenizer's offsets or from `word_token_spans`,
so every chunk is an exact substring of the document and its offsets are true.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragtune_serving.errors import InvalidArgument
from ragtune_serving.rag.records import Chunk, TextDocument

TokenSpan = tuple[int, int]
"""Character start and end of one token in the document text."""

DEFAULT_CHUNK_SIZE = 64
DEFAULT_CHUNK_OVERLAP = 16

# A number (3.14, 1,000), a word (with inner apostrophes or hyphens), or one other non-space.
_WORD_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:['’-]\w+)*|[^\w\s]")
_SENTENCE_END = frozenset(".!?")
_CLOSERS = "\"'”’)]}»"
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_LEADING_SPACE = re.compile(r"\s*")


def word_token_spans(text: str) -> list[TokenSpan]:
    """Split text into words, numbers and single punctuation characters, as spans."""
    return [match.span() for match in _WORD_TOKEN.finditer(text)]


def _check_settings(size: int, overlap: int) -> None:
    if size < 1:
        raise InvalidArgument(f"must be at least 1 token, got {size}", field="chunk_size")
    if not 0 <= overlap < size:
        raise InvalidArgument(
            f"must be at least 0 and less than chunk_size ({size}), got {overlap}",
            field="chunk_overlap",
        )


def _check_spans(text: str, spans: Sequence[TokenSpan]) -> None:
    previous_start = previous_end = 0
    for index, (start, end) in enumerate(spans):
        if not (previous_start <= start <= end <= len(text) and end >= previous_end):
            raise ValueError(
                f"token span {index} ({start}, {end}) is out of order or outside the "
                f"{len(text)}-character text; drop special tokens before chunking"
            )
        previous_start, previous_end = start, end


def _ends_sentence(text: str, spans: Sequence[TokenSpan], last: int) -> bool:
    """Whether a window may end after token `last`: at '.', '!', '?' or before a blank line."""
    start, end = spans[last]
    if text[start:end].rstrip().rstrip(_CLOSERS)[-1:] in _SENTENCE_END:
        return True
    if last + 1 >= len(spans):
        return True
    following = text[end : spans[last + 1][1]]
    gap = _LEADING_SPACE.match(following)
    return gap is not None and _BLANK_LINE.search(gap.group()) is not None


def _window_end(text: str, spans: Sequence[TokenSpan], start: int, size: int, overlap: int) -> int:
    """Exclusive end of the window starting at token `start`."""
    end = min(start + size, len(spans))
    if end == len(spans):
        return end
    shortest = max(size - size // 3, overlap + 1)
    for candidate in range(end, start + shortest - 1, -1):
        if _ends_sentence(text, spans, candidate - 1):
            return candidate
    return end


def chunk_document(
    doc: TextDocument, spans: Sequence[TokenSpan], *, size: int, overlap: int
) -> list[Chunk]:
    """Cut `doc` into windows of at most `size` tokens, consecutive ones sharing `overlap`.

    A window ends early at a sentence end found in its last third. Chunks are numbered from 0
    and carry the document's id, hash, source and metadata. No tokens give no chunks.
    """
    _check_settings(size, overlap)
    _check_spans(doc.text, spans)
    chunks: list[Chunk] = []
    start = 0
    while start < len(spans):
        end = _window_end(doc.text, spans, start, size, overlap)
        first, last = spans[start][0], spans[end - 1][1]
        chunks.append(
            Chunk(
                document_id=doc.id,
                number=len(chunks),
                text=doc.text[first:last],
                start=first,
                end=last,
                content_hash=doc.content_hash,
                source_uri=doc.source_uri,
                metadata=dict(doc.metadata),
            )
        )
        if end == len(spans):
            break
        start = end - overlap
    return chunks
