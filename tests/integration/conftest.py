"""One real local stack for the whole integration session: Milvus Lite server, Ray head, Serve.

Started through the same code path as `ragtune serve` (ragtune_serving.local), on free loopback
ports and a temporary home, and stopped at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import local
from ragtune_serving.client import RagClient
from ragtune_serving.settings import Settings

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "examples" / "corpus"
QUESTIONS = REPO / "examples" / "questions.jsonl"
CORPUS_KB = "itest/corpus"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = local.isolated_settings(tmp_path_factory.mktemp("ragtune-home"))
    try:
        local.start(settings, say=lambda line: print(line))
        yield settings
    finally:
        local.stop(settings, say=lambda line: print(line))


@pytest.fixture(scope="session")
def client(stack: Settings) -> Iterator[RagClient]:
    with RagClient(stack.address, timeout_s=300) as rag:
        yield rag


@pytest.fixture(scope="session")
def questions() -> list[dict[str, str | None]]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


def corpus_documents() -> list[pb.Document]:
    return [
        pb.Document(id=path.name, content=path.read_bytes(), source_uri=path.resolve().as_uri())
        for path in sorted(CORPUS.glob("*.md"))
    ]


@pytest.fixture
def corpus() -> list[pb.Document]:
    """The sample corpus as documents to ingest."""
    return corpus_documents()


@pytest.fixture(scope="session")
def corpus_kb(client: RagClient) -> str:
    """The sample corpus, ingested once into its own knowledge base."""
    reply = client.ingest(pb.IngestRequest(knowledge_base=CORPUS_KB, documents=corpus_documents()))
    assert reply.created_knowledge_base
    assert all(r.outcome == pb.DOCUMENT_OUTCOME_CREATED for r in reply.results)
    return CORPUS_KB
