"""Training data: bad lines are skipped and counted with their line number and reason; a file
with nothing usable is refused with what a line should look like; prompts are serving's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragtune_serving.rag.prompting import REWRITE_SYSTEM_PROMPT, SYSTEM_PROMPT
from ragtune_serving.training.datasets import (
    DatasetError,
    PairExample,
    Passage,
    TextExample,
    messages_for,
    parse_jsonl,
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


# Malformed JSON Lines: each bad line skipped with its number and what is wrong with it.

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json at all", "not valid JSON (Expecting value)"),
        ('{"instruction": "q", "response": "r"', "not valid JSON (Expecting ',' delimiter)"),
        ("{'instruction': 'q'}", "not valid JSON (Expecting property name"),
        ('{"instruction": "q", "response": "r"} trailing', "not valid JSON (Extra data)"),
        ("42", "a JSON int, not an object"),
        ('"a string"', "a JSON str, not an object"),
        ("null", "a JSON NoneType, not an object"),
        ("true", "a JSON bool, not an object"),
        ("[]", "a JSON list, not an object"),
        ("{}", '"instruction" is missing or not a non-empty string'),
        ('{"response": "r"}', '"instruction" is missing'),
        ('{"instruction": 7, "response": "r"}', '"instruction" is missing or not a non-empty'),
        ('{"instruction": ["q"], "response": "r"}', '"instruction" is missing'),
        ('{"instruction": null, "response": "r"}', '"instruction" is missing'),
        ('{"instruction": "q", "response": {"a": 1}}', '"response" is missing'),
        ('{"instruction": "q", "response": "r", "context": 5}', '"context" must be a passage'),
        ('{"instruction": "q", "response": "r", "context": [{"id": "a"}]}', '"text" is missing'),
        (DEEP, "not usable JSON (nested too deeply)"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "not usable JSON (nested too deeply)"),
        ('{"instruction": "' + "q" * 5_000_000, "not valid JSON (Unterminated string"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
def test_each_malformed_line_is_skipped_with_its_number_and_reason(line: str, reason: str) -> None:
    dataset = parse_lines([GOOD, "", line, GOOD], "generation")
    assert len(dataset.examples) == 2
    assert len(dataset.skipped) == 1
    number, why = dataset.skipped[0]
    assert number == 3
    assert why.startswith(reason), why
    assert len(why) < 200  # the reason names the problem; it does not echo a huge line


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"question": "q", "passage": "p", "relevant": 1}', '"relevant" must be true or false'),
        ('{"question": "q", "passage": "p"}', '"relevant" must be true or false'),
        ('{"question": "q", "relevant": false}', '"passage" is missing'),
        ('{"question": "", "passage": "p", "relevant": true}', '"question" is missing'),
    ],
)
def test_malformed_rerank_lines_are_skipped_with_their_reason(line: str, reason: str) -> None:
    good = json.dumps({"question": "q", "passage": "p", "relevant": False})
    dataset = parse_lines([good, line], "rerank")
    assert len(dataset.examples) == 1 and len(dataset.skipped) == 1
    assert dataset.skipped[0][0] == 2 and dataset.skipped[0][1].startswith(reason)


def test_a_huge_valid_line_is_an_example() -> None:
    response = "r" * 5_000_000
    (example,) = parse_lines(
        [json.dumps({"instruction": "q", "response": response})], "generation"
    ).examples
    assert isinstance(example, TextExample) and example.response == response


def test_a_file_of_only_blank_lines_is_refused_like_an_empty_one() -> None:
    for data in (b"", b"\n\n  \n\t\r\n"):
        with pytest.raises(DatasetError, match=r"no usable generation example \(0 lines skipped\)"):
            parse_jsonl(data, "generation")


def test_a_line_that_is_not_utf8_costs_that_line_not_the_file() -> None:
    data = b"\n".join(
        [GOOD.encode(), b'{"instruction": "caf\xe9", "response": "r"}', GOOD.encode()]
    )
    dataset = parse_jsonl(data, "generation")
    assert len(dataset.examples) == 2
    assert dataset.skipped == ((2, "not UTF-8 text (byte 21 of the line); save the file as UTF-8"),)


def test_a_file_of_binary_is_refused_naming_its_first_line() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
    with pytest.raises(DatasetError, match=r"lines skipped; line 1: not UTF-8 text \(byte 1 of"):
        parse_jsonl(png, "generation")


def test_lines_end_only_at_lf_crlf_or_cr() -> None:
    # U+2028, U+0085 and form feed are valid inside a JSON string; str.splitlines would cut there
    tricky = json.dumps({"instruction": "a\u2028b\x85c\x0cd", "response": "r"}, ensure_ascii=False)
    data = "\r\n".join([GOOD, tricky, "bad", GOOD]).encode() + b"\rbad again\n"
    dataset = parse_jsonl(data, "generation")
    assert [e.instruction for e in dataset.examples if isinstance(e, TextExample)][1] == (
        "a\u2028b\x85c\x0cd"
    )
    assert [n for n, _ in dataset.skipped] == [3, 5]


def test_a_byte_order_mark_before_the_first_line_is_dropped() -> None:
    dataset = parse_jsonl(b"\xef\xbb\xbf" + GOOD.encode() + b"\n" + GOOD.encode(), "generation")
    assert (len(dataset.examples), dataset.skipped) == (2, ())


@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(st.text(max_size=40)).map(lambda lines: "\n".join(lines).encode()),
    )
)
def test_any_bytes_give_a_dataset_or_a_dataset_error(data: bytes) -> None:
    lines = data.splitlines()
    try:
        dataset = parse_jsonl(data, "generation")
    except DatasetError as error:
        assert "must be a JSON object like" in str(error)
        return
    numbers = [n for n, _ in dataset.skipped]
    assert numbers == sorted(set(numbers)) and all(1 <= n <= len(lines) for n in numbers)
    assert len(dataset.examples) + len(dataset.skipped) <= len(lines)
    assert all(why for _, why in dataset.skipped)


def test_ragtune_train_refuses_an_unusable_file_by_its_line_before_loading_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragtune_serving import cli

    data = tmp_path / "train.jsonl"
    data.write_bytes(b'{"instruction": "caf\xe9", "response": "r"}\n[1, 2]\n')
    out = tmp_path / "adapter"
    assert cli.main(["train", "--data", str(data), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "no usable generation example (2 lines skipped; line 1: not UTF-8 text" in error
    assert not out.exists()
