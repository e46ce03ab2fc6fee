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
from ragtune_serving.config import PACKAGED_GENERATOR
from ragtune_serving.models import resolve_model
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


@pytest.fixture(scope="session")
def tone_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real LoRA adapter for the packaged generator (r=4 on q_proj/v_proj), non-zero weights.

    Made from the model's architecture alone (random base weights): a LoRA adapter's shapes
    depend on the architecture, not on the base weights, and this is ten times faster than
    de-quantizing the GGUF.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    directory = tmp_path_factory.mktemp("adapters") / "tone"
    generator = resolve_model(PACKAGED_GENERATOR)
    config = AutoConfig.from_pretrained(generator.name_or_path, gguf_file=generator.gguf_file)
    torch.manual_seed(7)
    lora = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(AutoModelForCausalLM.from_config(config), lora).save_pretrained(str(directory))
    weights = load_file(directory / "adapter_model.safetensors")
    assert weights and all(t.abs().sum() > 0 for n, t in weights.items() if "lora_B" in n)
    return directory
