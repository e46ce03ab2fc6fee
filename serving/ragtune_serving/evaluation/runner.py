"""Ask every question in every mode through the gRPC API and measure each answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.evaluation import modes
from ragtune_serving.evaluation.questions import Question
from ragtune_serving.evaluation.scoring import Cited, Reply, score
from ragtune_serving.evaluation.summary import Measured


class EvaluationError(Exception):
    """A query the evaluation could not make, naming the mode and the question's line."""


def reply_of(response: pb.QueryResponse) -> Reply:
    """What scoring needs of a QueryResponse."""
    chunks = tuple(Cited(c.document_id, c.snippet, c.cited) for c in response.citations)
    return Reply(response.answer, response.grounded, chunks)


def run(
    client: RagClient,
    kb: str,
    questions: Sequence[Question],
    mode_names: Sequence[str],
    *,
    adapter: str = "",
    top_k: int | None = None,
    max_tokens: int | None = None,
    advance: Callable[[str], None] = lambda mode: None,
) -> list[Measured]:
    """Every question in every mode, in mode order; `advance(mode)` after each answer."""
    measured = []
    for name in mode_names:
        retrieval = modes.MODES[name].retrieval
        for question in questions:
            query = modes.request(
                name, kb, question.question, adapter=adapter, top_k=top_k, max_tokens=max_tokens
            )
            try:
                response = client.query(query)
            except ClientError as error:
                raise EvaluationError(
                    f"mode {name}, question on line {question.line}: {error}"
                ) from error
            measured.append(
                Measured(
                    mode=name,
                    question=question,
                    score=score(question, reply_of(response), retrieval=retrieval),
                    total_ms=response.timing.total_ms,
                    first_token_ms=response.timing.time_to_first_token_ms,
                    prompt_tokens=response.usage.prompt_tokens,
                    completion_tokens=response.usage.completion_tokens,
                    answer=response.answer,
                )
            )
            advance(name)
    return measured
