"""Citations: which numbered context passages a generated answer cites."""

from __future__ import annotations

import re

# [1], [ 2 ], [2, 3], [1,2 ,3]; adjacent brackets like [1][3] match one by one.
_CITATION = re.compile(r"\[\s*([0-9]+(?:\s*,\s*[0-9]+)*)\s*\]")


def cited_indexes(answer: str, count: int) -> list[int]:
    """Sorted unique 1-based passage numbers cited in `answer`, keeping only 1..`count`."""
    cited: set[int] = set()
    for match in _CITATION.finditer(answer):
        for number in match.group(1).split(","):
            index = int(number)
            if 1 <= index <= count:
                cited.add(index)
    return sorted(cited)
