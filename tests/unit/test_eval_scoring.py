"""`ragtune eval`'s scoring of one answer: correctness, retrieval, citations, declining,
format; and the question-set file, whose bad lines are refused by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune_serving.evaluation.questions import Question, QuestionSetError, load, parse_line
from ragtune_serving.evaluation.scoring import (
    Cited,
    Reply,
    contains,
    declines,
    json_valid,
    normalise,
    reciprocal_rank,
    score,
    token_f1,
)

CEO = Question(1, "Who is the CEO?", "Tobias Wrenfield", ("leadership.md",))
OUTSIDE = Question(2, "How far is Jupiter?", None, ())


def test_normalising_sets_aside_case_accents_punctuation_and_articles() -> None:
    assert normalise("  The Café, run by   Zoë!") == "cafe run by zoe"


def test_contains_matches_whole_words_only() -> None:
    assert contains("Our CEO is Tobias Wrenfield.", "tobias wrenfield")
    assert not contains("Our CEO is Tobias Wrenfields", "Tobias Wrenfield")
    assert not contains("anything", "the")  # nothing left to look for


def test_token_f1_weighs_precision_and_recall() -> None:
    assert token_f1("Tobias Wrenfield", "Tobias Wrenfield") == 1.0
    assert token_f1("Tobias", "Tobias Wrenfield") == pytest.approx(2 / 3)
    assert token_f1("nobody", "Tobias Wrenfield") == 0.0


def test_reciprocal_rank_is_that_of_the_first_expected_document() -> None:
    assert reciprocal_rank(["a.md", "b.md", "b.md"], ["b.md"]) == 0.5
    assert reciprocal_rank(["a.md"], ["b.md"]) == 0.0


def test_declining_is_said_in_words_or_by_an_ungrounded_answer() -> None:
    assert declines("I don’t know who that is.", grounded=True)
    assert declines("Tobias Wrenfield", grounded=False)
    assert not declines("Tobias Wrenfield leads it.", grounded=True)


def test_json_is_valid_bare_or_fenced_but_must_be_an_object_or_array() -> None:
    assert json_valid('{"answer": "Tobias"}')
    assert json_valid('```json\n{"answer": "Tobias"}\n```')
    assert not json_valid('"just a string"')
    assert not json_valid('{"answer": ')


def test_an_answer_in_a_retrieving_mode_gets_every_score() -> None:
    reply = Reply(
        "The CEO is Tobias Wrenfield [2].",
        grounded=True,
        chunks=(
            Cited("history.md", "Founded in 1921 by ...", cited=False),
            Cited("leadership.md", "Tobias Wrenfield is the chief executive", cited=True),
            Cited("board.md", "The board meets monthly", cited=True),
        ),
    )
    result = score(CEO, reply, retrieval=True)
    assert result.correct and result.f1 is not None and 0 < result.f1 < 1
    assert (result.hit, result.reciprocal_rank) == (True, 0.5)
    assert result.citation_precision == 0.5  # board.md holds no answer
    assert not result.declined and result.format_valid is None


def test_a_cited_chunk_whose_snippet_holds_the_answer_counts_without_expected_documents() -> None:
    undocumented = Question(3, "Who is the CEO?", "Tobias Wrenfield", ())
    reply = Reply("Tobias Wrenfield", True, (Cited("x.md", "CEO: Tobias Wrenfield", True),))
    result = score(undocumented, reply, retrieval=True)
    assert result.citation_precision == 1.0
    assert result.hit is None  # no expected documents: retrieval not scored


def test_an_answer_that_marks_no_citation_is_judged_by_every_source_it_gives() -> None:
    reply = Reply(
        "Tobias Wrenfield leads it.",
        True,
        (Cited("leadership.md", "...", False), Cited("board.md", "...", False)),
    )
    assert score(CEO, reply, retrieval=True).citation_precision == 0.5


def test_a_mode_without_retrieval_gets_no_retrieval_scores() -> None:
    result = score(CEO, Reply("Tobias Wrenfield", grounded=True), retrieval=False)
    assert result.correct and result.hit is None and result.citation_precision is None


def test_an_out_of_corpus_question_scores_only_declining() -> None:
    result = score(
        OUTSIDE, Reply("The knowledge base has nothing on this question.", False), retrieval=True
    )
    assert result.declined and result.correct is None and result.f1 is None


def test_a_json_format_question_scores_format_validity() -> None:
    asks_json = Question(4, "Who is the CEO?", "Tobias Wrenfield", (), "json")
    assert score(
        asks_json, Reply('{"ceo": "Tobias Wrenfield"}', True), retrieval=False
    ).format_valid
    assert score(asks_json, Reply("Tobias Wrenfield", True), retrieval=False).format_valid is False


def test_a_question_set_reads_both_document_spellings_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": "Who?", "answer": "Tobias", "document": "a.md"}\n'
        "\n"
        '{"question": "Where?", "answer": null, "documents": []}\n'
        '{"question": "Format?", "answer": "x", "documents": ["a.md", "b.md"], "format": "json"}\n'
    )
    questions = load(path)
    assert [q.documents for q in questions] == [("a.md",), (), ("a.md", "b.md")]
    assert [q.in_corpus for q in questions] == [True, False, True]
    assert [q.line for q in questions] == [1, 3, 4]
    assert questions[2].format == "json"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 7: not JSON"),
        ("[1, 2]", "line 7: expected an object, got list"),
        ('{"answer": "x"}', "line 7: 'question' must be a non-empty string"),
        ('{"question": "q", "answer": ""}', "'answer' must be a non-empty string, or null"),
        ('{"question": "q", "documents": "a", "document": "b"}', "not both"),
        ('{"question": "q", "documents": [1]}', "'documents' must be a list of document ids"),
        ('{"question": "q", "format": "xml"}', "'format' must be one of json, got 'xml'"),
    ],
)
def test_a_bad_line_is_refused_by_its_number_and_fault(line: str, message: str) -> None:
    with pytest.raises(QuestionSetError, match=message):
        parse_line(line, 7)


def test_a_file_names_itself_in_its_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(QuestionSetError, match=r"empty\.jsonl: no questions"):
        load(empty)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{"question": 3}\n')
    with pytest.raises(QuestionSetError, match=r"bad\.jsonl: line 2: 'question'"):
        load(bad)
    with pytest.raises(QuestionSetError, match=r"missing\.jsonl: cannot read"):
        load(tmp_path / "missing.jsonl")


def test_the_shipped_example_questions_load() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "questions.jsonl"
    questions = load(examples)
    assert any(q.in_corpus for q in questions) and any(not q.in_corpus for q in questions)
