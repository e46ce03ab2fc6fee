"""The same knowledge base built and asked the way a LangChain script does it, in one process:
LangChain's token text splitter, `HuggingFaceEmbeddings` and Chroma for ingestion; the Chroma
retriever, a chat prompt and the packaged generator through `HuggingFacePipeline` for
questions. Runs in the peers' virtualenv (no ragtune import).

    python langchain_rag.py IN.json OUT.json

IN.json: {"embedding": model dir, "generator": model dir, "gguf_file": name, "documents":
[[id, text], ...], "chunk_size": tokens, "chunk_overlap": tokens, "questions": [...],
"system_prompt": str, "top_k": n, "max_tokens": n}. OUT.json: ingestion seconds, documents
and chunks; per question the retrieve, generate and total milliseconds, the prompt and answer
tokens, and the answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from typing import Any

import langchain_core
import torch
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_huggingface import ChatHuggingFace, HuggingFaceEmbeddings, HuggingFacePipeline
from langchain_text_splitters import RecursiveCharacterTextSplitter
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline


def ingest(spec: dict[str, Any], directory: str) -> tuple[Chroma, dict[str, Any]]:
    embeddings = HuggingFaceEmbeddings(
        model_name=spec["embedding"],
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )
    started = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        embeddings._client.tokenizer,
        chunk_size=spec["chunk_size"],
        chunk_overlap=spec["chunk_overlap"],
    )
    documents = [
        Document(page_content=text, metadata={"source": name}) for name, text in spec["documents"]
    ]
    chunks = splitter.split_documents(documents)
    store = Chroma(
        collection_name="bench",
        embedding_function=embeddings,
        persist_directory=directory,
        collection_metadata={"hnsw:space": "cosine"},
    )
    batch = store._client.get_max_batch_size()
    for start in range(0, len(chunks), batch):
        store.add_documents(chunks[start : start + batch])
    seconds = time.perf_counter() - started
    return store, {"seconds": seconds, "documents": len(documents), "chunks": len(chunks)}


def chat_model(spec: dict[str, Any]) -> ChatHuggingFace:
    tokenizer = AutoTokenizer.from_pretrained(spec["generator"], gguf_file=spec["gguf_file"])
    model = AutoModelForCausalLM.from_pretrained(
        spec["generator"], gguf_file=spec["gguf_file"], dtype=torch.float32
    ).eval()
    generate = pipeline(
        "text-generation",
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=spec["max_tokens"],
        do_sample=False,
        return_full_text=False,
    )
    return ChatHuggingFace(llm=HuggingFacePipeline(pipeline=generate), tokenizer=tokenizer)


def ask(store: Chroma, chat: ChatHuggingFace, spec: dict[str, Any], question: str) -> dict:
    started = time.perf_counter()
    hits = store.similarity_search(question, k=spec["top_k"])
    retrieved = time.perf_counter()
    # ragtune's prompt layout, so that both generate from prompts of the same length
    passages = "\n\n".join(
        f"[{i}] (source: {hit.metadata['source']})\n{hit.page_content}"
        for i, hit in enumerate(hits, 1)
    )
    user = f"<context>\n{passages}\n</context>\n\nQuestion: {question}"
    messages = [SystemMessage(content=spec["system_prompt"]), HumanMessage(content=user)]
    answer = chat.invoke(messages).content
    ended = time.perf_counter()
    tokenizer = chat.tokenizer
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": spec["system_prompt"]}, {"role": "user", "content": user}],
        add_generation_prompt=True,
        return_dict=True,
    )["input_ids"]
    return {
        "prompt_tokens": len(prompt),
        "completion_tokens": len(tokenizer(answer, add_special_tokens=False)["input_ids"]),
        "retrieve_ms": (retrieved - started) * 1000,
        "generate_ms": (ended - retrieved) * 1000,
        "total_ms": (ended - started) * 1000,
        "answer": answer,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out")
    options = parser.parse_args()
    with open(options.source) as source:
        spec = json.load(source)
    with tempfile.TemporaryDirectory(prefix="langchain-bench-") as directory:
        store, ingested = ingest(spec, directory)
        chat = chat_model(spec)
        ask(store, chat, spec, spec["questions"][0])  # warm up
        asked = [ask(store, chat, spec, question) for question in spec["questions"]]
    report = {
        "versions": {"langchain-core": langchain_core.__version__, "torch": torch.__version__},
        "ingest": ingested,
        "questions": asked,
    }
    with open(options.out, "w") as out:
        json.dump(report, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
