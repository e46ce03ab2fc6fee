"""Service benchmark: ragtune's local service side by side, in one run, with what users would
pick instead — a LangChain script over Chroma with the same models, and the model called
directly.

Starts its own local stack (Milvus Lite server, Ray head, Serve application) on free loopback
ports, then measures:

1. ingestion: documents/s and chunks/s of `ragtune ingest`'s own path over gRPC (chunking,
   batched embedding, bulk insert) vs LangChain's token splitter + `HuggingFaceEmbeddings` +
   Chroma on the same documents, chunk size and embedding model;
2. end-to-end `Query` over gRPC through Ray Serve, by stage, vs the same questions answered by
   the in-process LangChain pipeline and by raw `model.generate` on ragtune's own prompt;
   serving overhead = client latency − Σ stages the reply reports;
3. concurrency: closed-loop clients (1, 4, 8, 16), then bursts of simultaneous requests until
   the service pushes back with RESOURCE_EXHAUSTED;
4. freshness: a document changes → seconds until the answer says the new fact;
5. adapters: latency with 0, 1 and 4 LoRA adapters in use, and their hot-load time.

Writes benchmarks/results/<date>-<host>-service.json, .md and .png. Run: `make bench`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import peers
from measure import machine, percentiles, write_results
from rawgenerate import RawGenerate

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import cli, local
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.config import (
    PACKAGED_EMBEDDING,
    PACKAGED_GENERATOR,
    AdapterArgs,
    KnowledgeBaseDefaults,
)
from ragtune_serving.evaluation import freshness, modes
from ragtune_serving.models import resolve_model
from ragtune_serving.rag.kbnames import parse_kb_ref
from ragtune_serving.rag.prompting import SYSTEM_PROMPT, build_rag_messages
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import MilvusKnowledgeStore

KB = "bench/docs"
DEFAULTS = KnowledgeBaseDefaults()
CLIENT_LEVELS = (1, 4, 8, 16)
BURSTS = (64, 128, 256)
ADAPTERS = 4
FLOOR_CHUNKS = 1024  # chunks the embedding model alone is timed on


class Options(argparse.Namespace):
    corpus_chars: int
    questions: int
    max_tokens: int
    level_seconds: float


def ingestion(client: RagClient, documents: list[tuple[str, str]], work: Path) -> dict[str, Any]:
    """`ragtune ingest DIR`'s path, in process: files → size-bounded Ingest requests."""
    folder = work / "documents"
    files = []
    for number, (name, text) in enumerate(documents):
        path = folder / f"{number:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files.append((path, name))
    started = time.perf_counter()
    counts = cli.ingest_files(client, KB, files, prune=False, hybrid=False)
    seconds = time.perf_counter() - started
    info = client.get_knowledge_base(KB)
    assert counts["created"] == len(documents), counts
    return _rates(len(documents), int(info.chunks), seconds)


def embedding_floor(texts: list[str]) -> dict[str, Any]:
    """The embedding model alone on the chunk texts ragtune stored, in this process, batches of
    64 as the embedder sends them: what either ingestion path can at best approach here."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model(PACKAGED_EMBEDDING).name_or_path, device="cpu")
    model.encode(texts[:64], batch_size=64)  # warm up
    started = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    return {
        "chunks": len(texts),
        "seconds": round(seconds, 2),
        "chunks_per_s": round(len(texts) / seconds, 1),
    }


def _rates(documents: int, chunks: int, seconds: float) -> dict[str, Any]:
    return {
        "documents": documents,
        "chunks": chunks,
        "seconds": round(seconds, 2),
        "documents_per_s": round(documents / seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
    }


def langchain(
    documents: list[tuple[str, str]], questions: list[str], options: Options, work: Path
) -> dict[str, Any]:
    """The peer pipeline, in its own virtualenv and process (models loaded before timing)."""
    embedding, generator = resolve_model(PACKAGED_EMBEDDING), resolve_model(PACKAGED_GENERATOR)
    spec = {
        "embedding": embedding.name_or_path,
        "generator": generator.name_or_path,
        "gguf_file": generator.gguf_file,
        "documents": documents,
        "chunk_size": DEFAULTS.chunk_size,
        "chunk_overlap": DEFAULTS.chunk_overlap,
        "questions": questions,
        "system_prompt": SYSTEM_PROMPT,
        "top_k": DEFAULTS.top_k,
        "max_tokens": options.max_tokens,
    }
    source, out = work / "langchain-in.json", work / "langchain-out.json"
    source.write_text(json.dumps(spec))
    peers.run("langchain_rag.py", str(source), str(out))
    report = json.loads(out.read_text())
    asked = report["questions"]
    return {
        "versions": report["versions"],
        "ingest": _rates(
            report["ingest"]["documents"], report["ingest"]["chunks"], report["ingest"]["seconds"]
        ),
        "query": {
            stage: percentiles([q[f"{stage}_ms"] for q in asked])
            for stage in ("retrieve", "generate", "total")
        },
        "prompt_tokens": statistics.fmean(q["prompt_tokens"] for q in asked),
        "completion_tokens": statistics.fmean(q["completion_tokens"] for q in asked),
    }


def _request(question: str, max_tokens: int) -> pb.QueryRequest:
    # Every question answered: a generated answer is what is timed, never the refusal.
    return pb.QueryRequest(
        knowledge_base=KB, question=question, max_tokens=max_tokens, score_threshold=-1
    )


def end_to_end(client: RagClient, questions: list[str], max_tokens: int) -> dict[str, Any]:
    """Query over gRPC, one at a time: client latency, each stage, and the overhead."""
    stages: dict[str, list[float]] = {
        k: [] for k in ("embed", "retrieve", "generate", "ttft", "total", "client", "overhead")
    }
    prompt_tokens, completion_tokens = [], []
    for question in questions:
        started = time.perf_counter()
        reply = client.query(_request(question, max_tokens))
        client_ms = (time.perf_counter() - started) * 1000
        timing = reply.timing
        stage_sum = timing.embed_ms + timing.retrieve_ms + timing.generate_ms
        for stage, value in (
            ("embed", timing.embed_ms),
            ("retrieve", timing.retrieve_ms),
            ("generate", timing.generate_ms),
            ("ttft", timing.time_to_first_token_ms),
            ("total", timing.total_ms),
            ("client", client_ms),
            ("overhead", client_ms - stage_sum),
        ):
            stages[stage].append(value)
        prompt_tokens.append(reply.usage.prompt_tokens)
        completion_tokens.append(reply.usage.completion_tokens)
    summary: dict[str, Any] = {k: percentiles(v) for k, v in stages.items()}
    summary["overhead_share_of_client_p50"] = round(
        summary["overhead"]["p50"] / summary["client"]["p50"], 4
    )
    summary["prompt_tokens"] = statistics.fmean(prompt_tokens)
    summary["completion_tokens"] = statistics.fmean(completion_tokens)
    return summary


def raw_generate(settings: Settings, questions: list[str], max_tokens: int) -> dict[str, Any]:
    """`model.generate` on the prompt ragtune builds for each question (same hits, same chat
    template, greedy), in this process: generation with no serving around it."""
    from sentence_transformers import SentenceTransformer

    store = MilvusKnowledgeStore(settings.effective_milvus_uri)
    info = store.describe(parse_kb_ref(KB))
    assert info is not None
    embedder = SentenceTransformer(resolve_model(PACKAGED_EMBEDDING).name_or_path, device="cpu")
    model = RawGenerate()
    latencies = []
    for number, question in enumerate([questions[0], *questions]):
        vector = embedder.encode(question, normalize_embeddings=True).tolist()
        hits = store.search(info, vector, question, top_k=DEFAULTS.top_k)
        _, seconds = model.answer(build_rag_messages(question, hits), max_tokens)
        if number:  # the first is a warm-up
            latencies.append(seconds * 1000)
    return {"generate": percentiles(latencies)}


def closed_loop(
    address: str, requests: Callable[[int], pb.QueryRequest], clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` threads, each with its own channel, asking again as soon as answered; the
    k-th request of client c is `requests(c + k * clients)`."""
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client_loop(number: int) -> None:
        with RagClient(address) as client:
            for asked in itertools.count():
                if time.monotonic() >= stop:
                    return
                code, elapsed = _timed(client, requests(number + asked * clients))
                with lock:
                    codes[code] += 1
                    if code == "OK":
                        latencies.append(elapsed)

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, range(clients)))
    wall = time.monotonic() - started
    return {
        "clients": clients,
        "answers_per_s": round(len(latencies) / wall, 3),
        "latency_ms": percentiles(latencies) if latencies else None,
        "codes": dict(codes),
    }


def burst(address: str, requests: Callable[[int], pb.QueryRequest], size: int) -> dict[str, Any]:
    """`size` requests sent at once, one channel each: which are admitted, which pushed back."""
    clients = [RagClient(address) for _ in range(size)]
    gate = threading.Barrier(size)

    def one(number: int) -> tuple[str, float]:
        gate.wait()
        return _timed(clients[number], requests(number))

    try:
        with ThreadPoolExecutor(size) as pool:
            outcomes = list(pool.map(one, range(size)))
    finally:
        for client in clients:
            client.close()
    codes = Counter(code for code, _ in outcomes)
    admitted = [ms for code, ms in outcomes if code == "OK"]
    refused = [ms for code, ms in outcomes if code == "RESOURCE_EXHAUSTED"]
    return {
        "requests": size,
        "codes": dict(codes),
        "admitted_ms": percentiles(admitted) if admitted else None,
        "refused_ms": percentiles(refused) if refused else None,
    }


def _timed(client: RagClient, request: pb.QueryRequest) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        client.query(request)
        code = "OK"
    except ClientError as error:
        code = error.code.name
    return code, (time.perf_counter() - started) * 1000


def concurrency(address: str, questions: list[str], options: Options) -> dict[str, Any]:
    def ask(number: int) -> pb.QueryRequest:
        return _request(questions[number % len(questions)], options.max_tokens)

    levels = []
    for clients in CLIENT_LEVELS:
        levels.append(closed_loop(address, ask, clients, options.level_seconds))
        print(f"  {clients} clients: {levels[-1]}", flush=True)

    def admit(number: int) -> pb.QueryRequest:
        # One token from the base model: a burst tests admission, not generation speed.
        question = questions[number % len(questions)]
        return modes.request("base", KB, question, max_tokens=1)

    bursts = []
    for size in BURSTS:
        bursts.append(burst(address, admit, size))
        print(f"  burst of {size}: {bursts[-1]['codes']}", flush=True)
        if bursts[-1]["codes"].get("RESOURCE_EXHAUSTED"):
            break
    one = levels[0]["answers_per_s"]
    return {
        "levels": levels,
        "bursts": bursts,
        "throughput_ratio_8_vs_1": round(levels[CLIENT_LEVELS.index(8)]["answers_per_s"] / one, 2),
    }


def fresh(client: RagClient, runs: int = 3) -> dict[str, Any]:
    """Seconds from a document's update until the RAG answer states its new fact, per run;
    a run that never did within a minute counts as missed, with what was answered last."""
    checks = [
        freshness.check(client, KB, ["rag"], timeout_s=60, poll_s=0.2)[0] for _ in range(runs)
    ]
    caught = [check.seconds for check in checks if check.seconds is not None]
    return {
        "runs": runs,
        "seconds": percentiles(caught) if caught else None,
        "max_s": round(max(caught), 3) if caught else None,
        "missed": [check.last_answer for check in checks if check.seconds is None],
    }


def make_adapters(work: Path, count: int) -> dict[str, AdapterArgs]:
    """`count` LoRA adapters (r=8 on the attention projections) for the packaged generator."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    generator = resolve_model(PACKAGED_GENERATOR)
    config = AutoConfig.from_pretrained(generator.name_or_path, gguf_file=generator.gguf_file)
    adapters = {}
    for number in range(count):
        torch.manual_seed(number)
        lora = LoraConfig(
            r=8,
            lora_alpha=16,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            init_lora_weights=False,
        )
        directory = work / "adapters" / f"bench-{number}"
        base = AutoModelForCausalLM.from_config(config)  # random: shapes are what matter
        get_peft_model(base, lora).save_pretrained(str(directory))
        adapters[f"bench-{number}"] = AdapterArgs(
            path=str(directory), base_model=PACKAGED_GENERATOR
        )
    return adapters


def adapters(
    settings: Settings, client: RagClient, questions: list[str], options: Options, work: Path
) -> dict[str, Any]:
    """Hot-load: the serve config gains four adapters; seconds until each is READY, without
    restarting a replica. Then 4 closed-loop clients with no adapter, all with the same one,
    and each with its own (four in use at once)."""
    made = make_adapters(work, ADAPTERS)
    started = time.monotonic()
    local.deploy(settings, local.app_args(settings), lambda _: None, made)
    ready: dict[str, float] = {}
    while len(ready) < len(made) and time.monotonic() - started < 300:
        for status in client.get_knowledge_base(KB).adapters:
            if status.state == pb.ADAPTER_STATE_READY and status.name not in ready:
                ready[status.name] = time.monotonic() - started
            if status.state == pb.ADAPTER_STATE_FAILED:
                raise RuntimeError(f"adapter {status.name} failed: {status.reason}")
        time.sleep(0.1)
    if len(ready) < len(made):
        raise RuntimeError(f"only {sorted(ready)} of {sorted(made)} became ready in 300 s")
    names = sorted(made)

    def using(count: int) -> Callable[[int], pb.QueryRequest]:
        def ask(number: int) -> pb.QueryRequest:
            question = questions[number % len(questions)]
            if not count:
                return _request(question, options.max_tokens)
            name = names[number % count]  # with 4 clients and 4 adapters: one each
            return modes.request(
                "rag+adapter", KB, question, adapter=name, max_tokens=options.max_tokens
            )

        return ask

    in_use = {}
    for count in (0, 1, ADAPTERS):
        in_use[str(count)] = closed_loop(settings.address, using(count), 4, options.level_seconds)
        print(f"  {count} adapters in use: {in_use[str(count)]}", flush=True)
    return {"hot_load_ready_s": percentiles(list(ready.values())), "in_use": in_use}


def markdown(result: dict[str, Any]) -> str:
    m, i, e, lc = result["machine"], result["ingestion"], result["end_to_end"], result["langchain"]
    raw, c, a = result["raw_generate"], result["concurrency"], result["adapters"]
    targets = result["targets"]
    lines = [
        f"# Service benchmark — {result['date']}",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}, "
        f"{m['gpu'] or 'no GPU'}, Python {m['python']}. One run; the peers ran in their own "
        f"virtualenv (LangChain {lc['versions']['langchain-core']}, Chroma, torch "
        f"{lc['versions']['torch']}) with the same models, chunk size "
        f"({DEFAULTS.chunk_size}/{DEFAULTS.chunk_overlap} tokens), top-{DEFAULTS.top_k} and "
        f"prompt layout; answers greedy, at most {result['max_tokens']} tokens.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for row in targets:
        lines.append(f"| {row['target']} | {row['measured']} | {'yes' if row['met'] else 'no'} |")
    lines += [
        "",
        "## Ingestion",
        "",
        "| path | documents | chunks | s | documents/s | chunks/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in (
        ("ragtune (`ragtune ingest` over gRPC)", i),
        ("LangChain + Chroma", lc["ingest"]),
    ):
        lines.append(
            f"| {name} | {row['documents']} | {row['chunks']} | {row['seconds']} | "
            f"{row['documents_per_s']} | {row['chunks_per_s']} |"
        )
    floor = i["embedding_alone"]
    lines.append(
        f"| the embedding model alone, ragtune's chunks (the floor) | | {floor['chunks']} | "
        f"{floor['seconds']} | | {floor['chunks_per_s']} |"
    )
    lines += [
        "",
        f"## End-to-end query ({e['client']['n']} questions, one at a time)",
        "",
        "| stage | ragtune p50 ms | ragtune p99 ms | LangChain p50 ms | raw generate p50 ms |",
        "|---|---|---|---|---|",
        f"| embed | {e['embed']['p50']} | {e['embed']['p99']} | | |",
        f"| retrieve | {e['retrieve']['p50']} | {e['retrieve']['p99']} | "
        f"{lc['query']['retrieve']['p50']} (embed + search) | |",
        f"| first token | {e['ttft']['p50']} | {e['ttft']['p99']} | | |",
        f"| generate | {e['generate']['p50']} | {e['generate']['p99']} | "
        f"{lc['query']['generate']['p50']} | {raw['generate']['p50']} |",
        f"| serving overhead | {e['overhead']['p50']} | {e['overhead']['p99']} | | |",
        f"| **end to end** | **{e['client']['p50']}** | {e['client']['p99']} | "
        f"**{lc['query']['total']['p50']}** | |",
        f"| prompt tokens (mean) | {e['prompt_tokens']:.0f} | | {lc['prompt_tokens']:.0f} | "
        f"{e['prompt_tokens']:.0f} |",
        f"| answer tokens (mean) | {e['completion_tokens']:.1f} | | "
        f"{lc['completion_tokens']:.1f} | |",
        "",
        "Serving overhead = what the gRPC client measured − (embed + retrieve + generate) the "
        "reply reports: gRPC proxy, gateway, Ray hops, serialisation.",
        "",
        f"## Concurrency (closed loop, {result['level_seconds']} s per level)",
        "",
        "| clients | answers/s | p50 ms | p99 ms | outcomes |",
        "|---|---|---|---|---|",
    ]
    for level in c["levels"]:
        lat = level["latency_ms"] or {"p50": "-", "p99": "-"}
        lines.append(
            f"| {level['clients']} | {level['answers_per_s']} | {lat['p50']} | {lat['p99']} | "
            f"{_codes(level['codes'])} |"
        )
    lines += [
        "",
        "Bursts of simultaneous requests (one token from the base model each, so that they "
        "test admission rather than generation), until the service pushes back:",
        "",
    ]
    lines += [
        "| requests at once | outcomes | answered p50 / p99 ms | refused p50 / p99 ms |",
        "|---|---|---|---|",
    ]
    for b in c["bursts"]:
        lines.append(
            f"| {b['requests']} | {_codes(b['codes'])} | {_p50_p99(b['admitted_ms'])} | "
            f"{_p50_p99(b['refused_ms'])} |"
        )
    f = result["freshness"]
    caught = f["seconds"]
    lines += [
        "",
        "## Freshness",
        "",
        (
            f"Document updated → the RAG answer states the new fact: p50 {caught['p50']} s, "
            f"max {f['max_s']} s ({caught['n']} of {f['runs']} runs)."
            if caught
            else f"No run of {f['runs']} saw the new fact answered within 60 s."
        ),
        *[f"Missed once; last answer: {answer!r}" for answer in f["missed"]],
        "",
        "## Adapters (4 closed-loop clients)",
        "",
        f"Hot load of {ADAPTERS} adapters through the serve config (no replica restarted): "
        f"ready after p50 {a['hot_load_ready_s']['p50']} s, last "
        f"{a['hot_load_ready_s']['p99']} s. With 1 in use every client names the same "
        "adapter; with 4 each client names its own, so four are in use at once (requests for "
        "different adapters do not share a batch).",
        "",
        "| adapters in use | answers/s | p50 ms | p99 ms | outcomes |",
        "|---|---|---|---|---|",
    ]
    for count, level in a["in_use"].items():
        lat = level["latency_ms"] or {"p50": "-", "p99": "-"}
        lines.append(
            f"| {count} | {level['answers_per_s']} | {lat['p50']} | {lat['p99']} | "
            f"{_codes(level['codes'])} |"
        )
    return "\n".join(lines) + "\n"


def _p50_p99(latency: dict[str, float] | None) -> str:
    return f"{latency['p50']} / {latency['p99']}" if latency else "-"


def _codes(codes: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(codes.items()))


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure measured and whether it was met."""
    e, lc, c = result["end_to_end"], result["langchain"], result["concurrency"]
    overhead, client = e["overhead"]["p50"], e["client"]["p50"]
    e2e_ratio = client / lc["query"]["total"]["p50"]
    ingest_ratio = result["ingestion"]["chunks_per_s"] / lc["ingest"]["chunks_per_s"]
    throughput = c["throughput_ratio_8_vs_1"]
    return [
        {
            "target": "serving overhead ≤ 5 % of end-to-end p50 and ≤ 10 ms",
            "measured": f"{overhead:.1f} ms, {overhead / client * 100:.1f} %",
            "met": overhead <= 10 and overhead / client <= 0.05,
        },
        {
            "target": "end-to-end p50 ≤ 1.0× LangChain in-process",
            "measured": f"{e2e_ratio:.3f}×",
            "met": e2e_ratio <= 1.0,
        },
        {
            "target": "ingestion ≥ 1.5× LangChain + Chroma (chunks/s)",
            "measured": f"{ingest_ratio:.2f}×",
            "met": ingest_ratio >= 1.5,
        },
        {
            "target": "8 concurrent clients ≥ 3× one client's answers/s",
            "measured": f"{throughput:.2f}×",
            "met": throughput >= 3,
        },
    ]


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (stages, load) = pyplot.subplots(1, 2, figsize=(11, 4))
    e, lc, raw = result["end_to_end"], result["langchain"], result["raw_generate"]
    parts = {
        "ragtune": [e["embed"]["p50"] + e["retrieve"]["p50"], e["generate"]["p50"],
                    e["overhead"]["p50"]],
        "LangChain": [lc["query"]["retrieve"]["p50"], lc["query"]["generate"]["p50"], 0.0],
        "raw generate": [0.0, raw["generate"]["p50"], 0.0],
    }  # fmt: skip
    bottom = [0.0] * len(parts)
    for index, label in enumerate(("embed + retrieve", "generate", "serving overhead")):
        heights = [values[index] for values in parts.values()]
        stages.bar(list(parts), heights, bottom=bottom, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    stages.set_ylabel("p50 ms")
    stages.set_title("one question, end to end")
    stages.legend(fontsize=8)
    levels = result["concurrency"]["levels"]
    clients = [level["clients"] for level in levels]
    load.plot(clients, [level["answers_per_s"] for level in levels], "o-", label="answers/s")
    load.set_xlabel("concurrent clients")
    load.set_ylabel("answers/s")
    twin = load.twinx()
    p99 = [level["latency_ms"]["p99"] / 1000 for level in levels]
    twin.plot(clients, p99, "s--", color="tab:red", label="p99 s")
    twin.set_ylabel("p99 latency s")
    load.set_title("closed-loop clients")
    load.legend(loc="upper left", fontsize=8)
    twin.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus-chars", type=int, default=400_000)
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--level-seconds", type=float, default=20.0)
    options = parser.parse_args(namespace=Options())
    work = Path(tempfile.mkdtemp(prefix="ragtune-bench-service-"))
    settings = local.isolated_settings(work / "home")
    documents = corpus.documents(limit_chars=options.corpus_chars)
    local.start(settings)
    try:
        with RagClient(settings.address) as client:
            print(f"ingesting {len(documents)} documents…", flush=True)
            ingested = ingestion(client, documents, work)
            print(ingested, flush=True)
            store = MilvusKnowledgeStore(settings.effective_milvus_uri)
            info = store.describe(parse_kb_ref(KB))
            assert info is not None
            texts = [row["text"] for row in store._client.query(
                info.collection, filter="chunk >= 0", output_fields=["text"], limit=16_384
            )]  # fmt: skip
            questions = corpus.questions(texts, options.questions)
            print("embedding alone…", flush=True)
            ingested["embedding_alone"] = embedding_floor(texts[:FLOOR_CHUNKS])
            print("end to end…", flush=True)
            client.query(_request(questions[0], 4))  # warm up
            e2e = end_to_end(client, questions, options.max_tokens)
            print(json.dumps(e2e), flush=True)
            print("LangChain + Chroma…", flush=True)
            peer = langchain(documents, questions, options, work)
            print(json.dumps(peer), flush=True)
            print("raw generate…", flush=True)
            raw = raw_generate(settings, questions, options.max_tokens)
            print("concurrency…", flush=True)
            loaded = concurrency(settings.address, questions, options)
            print("freshness…", flush=True)
            fresh_result = fresh(client)
            print(fresh_result, flush=True)
            print("adapters…", flush=True)
            adapted = adapters(settings, client, questions, options, work)
    finally:
        local.stop(settings)
    now = datetime.now(UTC)
    result: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d"),
        "machine": machine(),
        "max_tokens": options.max_tokens,
        "level_seconds": options.level_seconds,
        "ingestion": ingested,
        "end_to_end": e2e,
        "langchain": peer,
        "raw_generate": raw,
        "concurrency": loaded,
        "freshness": fresh_result,
        "adapters": adapted,
    }
    result["targets"] = targets(result)
    stem = write_results("service", now, result, markdown(result))
    chart(result, stem.with_suffix(".png"))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
