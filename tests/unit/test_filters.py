"""Filter expressions are deterministic and no value can break out of its string literal."""

from __future__ import annotations

import re

import pytest

from ragtune_serving.errors import InvalidArgument
from ragtune_serving.rag.filters import in_expression, metadata_filter_expression

# A Milvus double-quoted literal: no raw quote, backslash only as an escape, no line breaks.
LITERAL = r'"(?:[^"\\\r\n]|\\.)*"'


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    table = {"n": "\n", "r": "\r", "t": "\t"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(1)), body)


def test_empty_filters_give_empty_expression() -> None:
    assert metadata_filter_expression({}) == ""


def test_terms_are_anded_in_sorted_key_order() -> None:
    expression = metadata_filter_expression({"lang": "en", "author": "ann"})
    assert expression == 'metadata["author"] == "ann" and metadata["lang"] == "en"'


def test_custom_json_field() -> None:
    assert metadata_filter_expression({"a": "b"}, field="meta") == 'meta["a"] == "b"'


@pytest.mark.parametrize(
    "value",
    [
        'a" or 1==1 or "',
        "trailing backslash \\",
        '\\" or true or \\"',
        "line\nbreak\r\nand\ttab",
        '""',
        '\\\\"',
    ],
)
def test_values_stay_inside_their_literal(value: str) -> None:
    expression = metadata_filter_expression({"k": value})
    match = re.fullmatch(rf'metadata\["k"\] == ({LITERAL})', expression)
    assert match is not None, expression
    assert _unescape(match.group(1)) == value


def test_injection_attempt_is_escaped_exactly() -> None:
    expression = metadata_filter_expression({"k": 'a" or 1==1 or "'})
    assert expression == 'metadata["k"] == "a\\" or 1==1 or \\""'


def test_backslash_is_escaped_before_quote() -> None:
    assert metadata_filter_expression({"k": '\\"'}) == 'metadata["k"] == "\\\\\\""'


@pytest.mark.parametrize("key", ["", "has space", 'quo"te', "k" * 65, "a]b", "ünï"])
def test_invalid_keys_are_refused_by_name(key: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        metadata_filter_expression({key: "v"})
    assert caught.value.field == "metadata_filter"
    assert repr(key) in caught.value.message


def test_in_expression() -> None:
    assert in_expression("document_id", ["a", "b"]) == 'document_id in ["a", "b"]'
    assert in_expression("document_id", []) == "document_id in []"


def test_in_expression_escapes_values() -> None:
    values = ['x"] or true or ["', "back\\slash"]
    expression = in_expression("document_id", values)
    match = re.fullmatch(rf"document_id in \[({LITERAL}), ({LITERAL})\]", expression)
    assert match is not None, expression
    assert [_unescape(match.group(1)), _unescape(match.group(2))] == values


@pytest.mark.parametrize("field", ["", "1abc", "a b", 'x"'])
def test_bad_field_names_are_rejected(field: str) -> None:
    with pytest.raises(ValueError):
        in_expression(field, ["a"])
    with pytest.raises(ValueError):
        metadata_filter_expression({"k": "v"}, field=field)
