"""Scores of one answer against what the question set expects. Pure: no client, no model.

Correctness is a normalised "contains" (the expected answer appears in the answer once case,
punctuation, articles and spacing are set aside) and a token F1; retrieval is hit@k and the
reciprocal rank of the first expected document among the retrieved chunks; citation precision
is the share of cited chunks that hold the answer (from an expected document, or a snippet
that contains the answer) — the chunks the answer marks as [n], or, when it marks none, all the
chunks the reply gives as its sources. An out-of-corpus question scores only whether it was
declined.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ragtune_serving.evaluation.questions import Question

ARTICLES = {"a", "an", "the"}
DECLINING = (
    "nothing on this question",
    "do not know",
    "don't know",
    "dont know",
    "not mentioned",
    "no information",
    "not provided",
    "cannot answer",
    "can't answer",
    "unable to answer",
    "not in the passages",
    "does not say",
    "doesn't say",
)
FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Cited:
    """A chunk given back with an answer."""

    document_id: str
    snippet: str
    cited: bool  # the answer refers to it


@dataclass(frozen=True, slots=True)
class Reply:
    """What the service answered, as far as scoring needs it."""

    answer: str
    grounded: bool
    chunks: tuple[Cited, ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    """One answer's scores; None where the measure does not apply to it."""

    correct: bool | None
    f1: float | None
    hit: bool | None
    reciprocal_rank: float | None
    citation_precision: float | None
    declined: bool
    format_valid: bool | None


def normalise(text: str) -> str:
    """Lower case, accents and punctuation gone, articles dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = "".join(" " if c in string.punctuation else c for c in plain)
    return " ".join(word for word in plain.split() if word not in ARTICLES)


def contains(answer: str, expected: str) -> bool:
    """The expected answer appears, word for word, in the answer (both normalised)."""
    wanted = normalise(expected)
    return bool(wanted) and f" {wanted} " in f" {normalise(answer)} "


def token_f1(answer: str, expected: str) -> float:
    """Harmonic mean of token precision and recall (normalised tokens)."""
    got, wanted = normalise(answer).split(), normalise(expected).split()
    common = sum((Counter(got) & Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def reciprocal_rank(retrieved: Sequence[str], expected: Sequence[str]) -> float:
    """1/rank of the first retrieved document that is expected; 0 when none is."""
    for rank, document in enumerate(retrieved, start=1):
        if document in expected:
            return 1.0 / rank
    return 0.0


def declines(answer: str, grounded: bool) -> bool:
    """The answer says it cannot answer (or nothing cleared the knowledge base's threshold)."""
    if not grounded:
        return True
    said = " ".join(answer.lower().replace("’", "'").split())
    return any(phrase in said for phrase in DECLINING)


def json_valid(answer: str) -> bool:
    """The answer is one JSON object or array (inside a ``` fence or not)."""
    text = answer.strip()
    fenced = FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        return isinstance(json.loads(text), dict | list)
    except ValueError:
        return False


def score(question: Question, reply: Reply, *, retrieval: bool) -> Score:
    """Score `reply` to `question`. `retrieval`: the mode retrieves (else no retrieval or
    citation scores)."""
    declined = declines(reply.answer, reply.grounded)
    format_valid = json_valid(reply.answer) if question.format == "json" else None
    if question.answer is None:  # out of corpus: only declining counts
        return Score(None, None, None, None, None, declined, format_valid)
    expected = question.answer
    hit = rank = None
    if retrieval and question.documents:
        retrieved = [chunk.document_id for chunk in reply.chunks]
        rank = reciprocal_rank(retrieved, question.documents)
        hit = rank > 0
    precision = None
    cited = [chunk for chunk in reply.chunks if chunk.cited] or list(reply.chunks)
    if retrieval and cited and not declined:
        holding = [
            c for c in cited if c.document_id in question.documents or contains(c.snippet, expected)
        ]
        precision = len(holding) / len(cited)
    return Score(
        correct=contains(reply.answer, expected),
        f1=token_f1(reply.answer, expected),
        hit=hit,
        reciprocal_rank=rank,
        citation_precision=precision,
        declined=declined,
        format_valid=format_valid,
    )
