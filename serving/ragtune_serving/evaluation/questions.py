"""A question set: one JSON object per line.

    {"question": "...", "answer": "expected text", "documents": ["doc-id", ...]}

`answer` null (or absent) marks an out-of-corpus question: the right behaviour is to decline.
`documents` (or a single `document`) names the documents that hold the answer; without them
retrieval is not scored for that question. `format: "json"` asks for an answer that parses as
JSON (what a format adapter is trained to give).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = ("json",)


class QuestionSetError(ValueError):
    """A question set line that cannot be used, with its file and line number."""


@dataclass(frozen=True, slots=True)
class Question:
    """One question of the set, as written."""

    line: int
    question: str
    answer: str | None
    documents: tuple[str, ...]
    format: str | None = None

    @property
    def in_corpus(self) -> bool:
        """Whether the knowledge base holds its answer (else: expect a refusal)."""
        return self.answer is not None


def parse_line(text: str, line: int) -> Question:
    """One line of a question set. Raises QuestionSetError naming what is wrong."""
    try:
        item = json.loads(text)
    except json.JSONDecodeError as error:
        raise QuestionSetError(f"line {line}: not JSON ({error.msg})") from error
    if not isinstance(item, dict):
        raise QuestionSetError(f"line {line}: expected an object, got {type(item).__name__}")
    question = item.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QuestionSetError(f"line {line}: 'question' must be a non-empty string")
    answer = item.get("answer")
    if answer is not None and (not isinstance(answer, str) or not answer.strip()):
        raise QuestionSetError(
            f"line {line}: 'answer' must be a non-empty string, or null for a question the "
            "knowledge base cannot answer"
        )
    documents = _documents(item, line)
    answer_format = item.get("format")
    if answer_format is not None and answer_format not in FORMATS:
        raise QuestionSetError(
            f"line {line}: 'format' must be one of {', '.join(FORMATS)}, got {answer_format!r}"
        )
    return Question(line, question.strip(), answer, documents, answer_format)


def _documents(item: dict[str, Any], line: int) -> tuple[str, ...]:
    if "documents" in item and "document" in item:
        raise QuestionSetError(f"line {line}: give 'documents' or 'document', not both")
    raw = item.get("documents", item.get("document"))
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise QuestionSetError(
            f"line {line}: 'documents' must be a list of document ids ('document': one id)"
        )
    return tuple(values)


def load(path: Path) -> list[Question]:
    """Every question in the file at `path` (blank lines skipped). Raises QuestionSetError
    naming the file and line of the first bad one, or saying the file holds none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise QuestionSetError(f"{path}: cannot read the question set ({reason})") from error
    questions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                questions.append(parse_line(line, number))
            except QuestionSetError as error:
                raise QuestionSetError(f"{path}: {error}") from None
    if not questions:
        raise QuestionSetError(f"{path}: no questions (one JSON object per line)")
    return questions
