"""Which modes `ragtune eval` runs on a knowledge base, and the query each makes."""

from __future__ import annotations

import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.evaluation.modes import ModeError, choose, request


def _kb(*adapters: tuple[str, str, int]) -> pb.KnowledgeBase:
    return pb.KnowledgeBase(
        namespace="team",
        name="docs",
        adapters=[pb.AdapterStatus(name=n, purpose=p, state=s) for n, p, s in adapters],
    )


READY = pb.ADAPTER_STATE_READY


def test_by_default_every_mode_the_knowledge_base_can_serve() -> None:
    assert choose(_kb(), None, "") == ["base", "rag"]
    tone = _kb(("tone", "generation", READY), ("rr", "rerank", pb.ADAPTER_STATE_FAILED))
    assert choose(tone, None, "") == ["base", "rag", "adapter", "rag+adapter"]
    full = _kb(
        ("tone", "generation", READY), ("qr", "query-rewrite", READY), ("rr", "rerank", READY)
    )
    assert choose(full, None, "") == [
        "base",
        "rag",
        "adapter",
        "rag+adapter",
        "rag+rewrite",
        "rag+rerank",
    ]


def test_modes_asked_for_are_checked() -> None:
    with pytest.raises(ModeError, match="unknown mode 'fancy'; modes: base, rag"):
        choose(_kb(), ["rag", "fancy"], "")
    with pytest.raises(ModeError, match="mode 'adapter' needs a ready generation adapter"):
        choose(_kb(), ["adapter"], "")
    two = _kb(("a", "generation", READY), ("b", "generation", READY))
    with pytest.raises(ModeError, match="2 generation adapters \\(a, b\\); name one with"):
        choose(two, ["adapter"], "")
    with pytest.raises(ModeError, match="adapter 'c' is not a ready generation adapter"):
        choose(two, ["adapter"], "c")
    assert choose(two, ["rag", "adapter"], "b") == ["rag", "adapter"]


def test_each_mode_asks_for_exactly_its_stages() -> None:
    plain = request("rag", "team/docs", "Who?", adapter="tone", top_k=3)
    assert plain.mode == pb.MODE_RAG and plain.adapter == ""
    assert plain.HasField("rewrite") and not plain.rewrite  # off, not the KB's default
    assert plain.HasField("rerank") and not plain.rerank
    assert plain.top_k == 3 and not plain.HasField("max_tokens")
    assert request("rag+adapter", "team/docs", "Who?", adapter="tone").adapter == "tone"
    assert request("rag+rerank", "team/docs", "Who?").rerank
    assert request("rag+rewrite", "team/docs", "Who?").rewrite
    assert request("base", "team/docs", "Who?").mode == pb.MODE_BASE
