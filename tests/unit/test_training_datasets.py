"""Training data: bad lines are skipped and counted with their line number and reason; a file
with nothing usable is refused with what a line should look like; prompts are serving's."""

from __future__ import annotations

import json

import pytest

from ragtune_serving.rag.prompting import REWRITE_SYSTEM_PROMPT, SYSTEM_PROMPT
from ragtune_serving.training.datasets import (
    DatasetError,
    PairExample,
    Passage,
    TextExample,
    messages_for,
    parse_lines,
)

GOOD = json.dumps({"instruction": "How long is leave?", "response": '{"answer": "25 days"}'})


def test_bad_lines_are_skipped_and_counted_with_their_reasons() -> None:
    lines = [
        GOOD,
        "{not json",
        "",
        json.dumps(["a", "list"]),
        json.dumps({"instruction": "q"}),
        json.dumps({"instruction": "  ", "response": "r"}),
        json.dumps({"instruction": "q", "response": "r", "context": [3]}),
        GOOD,
    ]
    dataset = parse_lines(lines, "generation")
    assert len(dataset.examples) == 2
    assert [n for n, _ in dataset.skipped] == [2, 4, 5, 6, 7]  # blank line 3 is not counted
    reasons = dict(dataset.skipped)
    assert reasons[2].startswith("not valid JSON")
    assert reasons[4] == "a JSON list, not an object"
    assert '"response" is missing' in reasons[5]
    assert '"instruction" is missing' in reasons[6]
    assert "context passage 1" in reasons[7]
    assert "5 lines skipped (line 2: not valid JSON" in dataset.summary()


@pytest.mark.parametrize("purpose", ["generation", "query-rewrite", "rerank"])
def test_nothing_usable_is_an_error_showing_the_expected_line(purpose: str) -> None:
    with pytest.raises(DatasetError, match=r"no usable .*\(2 lines skipped.*must be a JSON object"):
        parse_lines(["oops", '{"x": 1}'], purpose)  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="0 lines skipped"):
        parse_lines([], purpose)  # type: ignore[arg-type]


def test_rerank_lines_are_question_passage_relevant() -> None:
    lines = [
        json.dumps({"question": "q", "passage": "p", "relevant": True}),
        json.dumps({"question": "q", "passage": "p", "relevant": "yes"}),
    ]
    dataset = parse_lines(lines, "rerank")
    assert dataset.examples == (PairExample("q", "p", True),)
    assert dataset.skipped == ((2, '"relevant" must be true or false'),)


def test_context_passages_become_serving_s_numbered_prompt() -> None:
    line = {
        "instruction": "How long is leave?",
        "response": "r",
        "context": ["Leave is 25 days.", {"id": "hr.md", "text": "Ask HR."}],
    }
    (example,) = parse_lines([json.dumps(line)], "generation").examples
    assert isinstance(example, TextExample)
    assert example.context == (
        Passage("passage-1", "Leave is 25 days."),
        Passage("hr.md", "Ask HR."),
    )
    system, user = messages_for(example, "generation")
    assert system["content"] == SYSTEM_PROMPT
    assert "[1] (source: passage-1)\nLeave is 25 days." in user["content"]
    assert "[2] (source: hr.md)\nAsk HR." in user["content"]
    assert user["content"].endswith("Question: How long is leave?")


def test_rewrite_examples_use_the_rewrite_prompt_and_take_no_context() -> None:
    (example,) = parse_lines([GOOD], "query-rewrite").examples
    assert isinstance(example, TextExample)
    assert messages_for(example, "query-rewrite")[0]["content"] == REWRITE_SYSTEM_PROMPT
    with_context = json.dumps({"instruction": "q", "response": "r", "context": "c"})
    with pytest.raises(DatasetError, match="takes no context"):
        parse_lines([with_context], "query-rewrite")
