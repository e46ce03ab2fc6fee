"""Training data: JSON Lines parsed into examples, every unusable line counted with its reason.

Pure. One example per line; the fields depend on the adapter's purpose:

- `generation` and `query-rewrite`: `{"instruction": str, "response": str}`, and for generation
  an optional `"context"` (a list of passages, each a string or `{"id", "text"}`) to train on
  the same numbered-context prompt that RAG answers are generated from.
- `rerank`: `{"question": str, "passage": str, "relevant": bool}`.

A bad line (not UTF-8, not JSON, not an object of those fields) never stops training: it is
skipped and reported with its line number. A file with no usable line is an error that says
what the lines should look like.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ragtune_serving.rag.prompting import (
    build_base_messages,
    build_rag_messages,
    build_rewrite_messages,
)
from ragtune_serving.rag.records import Hit

Purpose = Literal["generation", "query-rewrite", "rerank"]
PURPOSES: tuple[Purpose, ...] = ("generation", "query-rewrite", "rerank")

FORMATS: dict[Purpose, str] = {
    "generation": '{"instruction": "...", "response": "...", "context": ["optional passage"]}',
    "query-rewrite": '{"instruction": "<question>", "response": "<search query>"}',
    "rerank": '{"question": "...", "passage": "...", "relevant": true}',
}


_BOM = "\ufeff"


class DatasetError(ValueError):
    """The dataset holds no usable example; the message says what a line should look like."""


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage of an example's context, numbered in the prompt as RAG numbers them."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class TextExample:
    """Prompt in, response out: a generation or query-rewrite example."""

    instruction: str
    response: str
    context: tuple[Passage, ...] = ()


@dataclass(frozen=True, slots=True)
class PairExample:
    """A question, a passage, and whether the passage answers it: a rerank example."""

    question: str
    passage: str
    relevant: bool


Example = TextExample | PairExample


@dataclass(frozen=True, slots=True)
class Dataset:
    """The usable examples, and (line number, reason) for every line that was skipped."""

    examples: tuple[Example, ...]
    skipped: tuple[tuple[int, str], ...] = field(default=())

    def summary(self) -> str:
        """One line for logs: how many examples, how many lines skipped and the first reasons."""
        text = f"{len(self.examples)} examples"
        if self.skipped:
            reasons = "; ".join(f"line {n}: {why}" for n, why in self.skipped[:3])
            more = f" (+{len(self.skipped) - 3} more)" if len(self.skipped) > 3 else ""
            text += f", {len(self.skipped)} lines skipped ({reasons}{more})"
        return text


def parse_jsonl(data: bytes, purpose: Purpose) -> Dataset:
    """The examples in a JSON Lines file's bytes, numbered as an editor numbers its lines.

    Lines end at LF, CRLF or CR only: a JSON string may hold U+2028 and other characters that
    `str.splitlines` would break a line at. Each line is decoded alone, so text that is not
    UTF-8 costs its own line, not the file. Raises DatasetError if no line is usable.
    """
    return parse_lines(data.splitlines(), purpose)


def parse_lines(lines: Iterable[str | bytes], purpose: Purpose) -> Dataset:
    """The examples in JSON Lines `lines` for an adapter of `purpose`; blank lines are ignored.

    Lines given as bytes are decoded as UTF-8; a byte-order mark before the first is dropped.
    Raises DatasetError if no line is usable.
    """
    if purpose not in PURPOSES:
        raise DatasetError(f"unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}")
    examples: list[Example] = []
    skipped: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        try:
            text = _decoded(line, first=number == 1)
            if not text.strip():
                continue
            examples.append(_example(text, purpose))
        except ValueError as error:
            skipped.append((number, str(error)))
    if not examples:
        first = f"; line {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise DatasetError(
            f"no usable {purpose} example ({len(skipped)} lines skipped{first}); each line "
            f"must be a JSON object like {FORMATS[purpose]}"
        )
    return Dataset(examples=tuple(examples), skipped=tuple(skipped))


def _decoded(line: str | bytes, *, first: bool) -> str:
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"not UTF-8 text (byte {error.start + 1} of the line); save the file as UTF-8"
            ) from error
    return line.removeprefix(_BOM) if first else line


def _example(line: str, purpose: Purpose) -> Example:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg})") from error
    except RecursionError as error:  # json's C decoder recurses once per nesting level
        raise ValueError("not usable JSON (nested too deeply)") from error
    if not isinstance(raw, dict):
        raise ValueError(f"a JSON {type(raw).__name__}, not an object")
    if purpose == "rerank":
        relevant = raw.get("relevant")
        if not isinstance(relevant, bool):
            raise ValueError('"relevant" must be true or false')
        return PairExample(_text(raw, "question"), _text(raw, "passage"), relevant)
    context = _context(raw.get("context")) if purpose == "generation" else ()
    if purpose != "generation" and "context" in raw:
        raise ValueError(f"a {purpose} example takes no context")
    return TextExample(_text(raw, "instruction"), _text(raw, "response"), context)


def _text(raw: dict[str, object], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'"{name}" is missing or not a non-empty string')
    return value.strip()


def _context(raw: object) -> tuple[Passage, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ValueError('"context" must be a passage or a list of passages')
    passages: list[Passage] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, str) and item.strip():
            passages.append(Passage(id=f"passage-{number}", text=item.strip()))
        elif isinstance(item, dict):
            passages.append(Passage(id=_text(item, "id"), text=_text(item, "text")))
        else:
            raise ValueError(f'context passage {number} must be a string or {{"id", "text"}}')
    return tuple(passages)


def messages_for(example: TextExample, purpose: Purpose) -> list[dict[str, str]]:
    """The chat prompt `example` is trained on: the one serving sends for this purpose."""
    if purpose == "query-rewrite":
        return build_rewrite_messages(example.instruction)
    if not example.context:
        return build_base_messages(example.instruction)
    hits = [Hit(f"{p.id}#0", p.id, 0, p.text, score=1.0, similarity=1.0) for p in example.context]
    return build_rag_messages(example.instruction, hits)
