"""Citations are read from [n] markers, deduplicated, sorted and kept within range."""

from __future__ import annotations

import pytest

from ragtune_serving.rag.citations import cited_indexes


@pytest.mark.parametrize(
    ("answer", "count", "expected"),
    [
        ("Paris is the capital [1].", 3, [1]),
        ("Both say so [2, 3].", 3, [2, 3]),
        ("See [1][3].", 3, [1, 3]),
        ("Spaced [ 2 ] out.", 3, [2]),
        ("Repeated [2] and [2] and [1].", 3, [1, 2]),
        ("Out of range [4] and [0].", 3, []),
        ("In [1999] it changed [1].", 3, [1]),
        ("Letters [a] and [b] are not citations.", 3, []),
        ("Mixed [1, a] is not a list.", 3, []),
        ("List with one too far [3, 9].", 3, [3]),
        ("No citations at all.", 3, []),
        ("Anything [1] with no passages.", 0, []),
        ("Leading zero [02].", 3, [2]),
        ("Unclosed [1 and closed [2].", 3, [2]),
    ],
)
def test_cited_indexes(answer: str, count: int, expected: list[int]) -> None:
    assert cited_indexes(answer, count) == expected
