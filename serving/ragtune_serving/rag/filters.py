"""Milvus filter expressions built from user input, with every string literal escaped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ragtune_serving.errors import InvalidArgument

_METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def string_literal(value: str) -> str:
    """`value` as a double-quoted Milvus string literal that nothing in it can end early.

    Backslashes are doubled first, so the backslash added before a quote stays single;
    line breaks, which the Milvus grammar forbids inside literals, become escapes.
    """
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _check_field(field: str) -> None:
    if not _FIELD_NAME.fullmatch(field):
        raise ValueError(f"{field!r} is not a Milvus field name")


def metadata_filter_expression(filters: Mapping[str, str], *, field: str = "metadata") -> str:
    """`field["k"] == "v"` for each filter, ANDed in key order; "" when there are none."""
    _check_field(field)
    terms = []
    for key in sorted(filters):
        if not _METADATA_KEY.fullmatch(key):
            raise InvalidArgument(
                f"key {key!r} is invalid: use 1 to 64 of A-Z a-z 0-9 _ . -",
                field="metadata_filter",
            )
        terms.append(f"{field}[{string_literal(key)}] == {string_literal(filters[key])}")
    return " and ".join(terms)


def in_expression(field: str, values: Sequence[str]) -> str:
    """`field in ["a", "b"]`, with each value escaped as a string literal."""
    _check_field(field)
    return f"{field} in [{', '.join(string_literal(value) for value in values)}]"
