"""The `ragtune` command: run the local stack, feed it documents, ask it questions.

ragtune serve [--adapter NAME=DIR]...
                                   start Milvus Lite, Ray and the Serve application
ragtune ingest PATH... [--kb NS/NAME] [--prune] [--hybrid]
ragtune ask "question" [--kb NS/NAME] [--mode MODE] [--adapter NAME] [--rewrite] [--rerank]
ragtune train --data FILE.jsonl --out DIR [--purpose P] [--base MODEL] [--epochs N] [--rank R]
ragtune eval --questions FILE.jsonl [--kb NS/NAME] [--modes M,M] [--out DIR]
                                   every mode measured on your questions: table, report, chart
ragtune delete DOC_ID... [--kb NS/NAME]
ragtune status [--kb NS/NAME]      exit 0 only when the service answers
ragtune demo                       all of the above on examples/corpus
ragtune stop
ragtune operator [--direct [DASHBOARD_URL]] [--namespace NS]...
                                   reconcile KnowledgeBase/Adapter resources (kopf)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import json_format
from tqdm import tqdm

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import local, metricsexport
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.config import AdapterArgs, AppArgs
from ragtune_serving.evaluation import evaluate
from ragtune_serving.evaluation import modes as eval_modes
from ragtune_serving.evaluation.questions import QuestionSetError
from ragtune_serving.evaluation.runner import EvaluationError
from ragtune_serving.evaluation.summary import Prices
from ragtune_serving.grpcapi.codec import MODE_PROTOS
from ragtune_serving.models import ModelNotFound
from ragtune_serving.serveconfig import METRICS_PORT
from ragtune_serving.settings import Settings, load_settings
from ragtune_serving.training.datasets import PURPOSES, parse_jsonl
from ragtune_serving.training.trainer import METRICS_FILE, TrainingOptions, read_metrics, train

T = TypeVar("T")
DEFAULT_KB = "default/demo"
REQUEST_BYTES = 8 * 1024 * 1024  # documents per Ingest request are grouped up to this size
REQUEST_DOCUMENTS = 64
SKIPPED_DIRS = {".git", ".ragtune", "__pycache__", "node_modules", ".venv"}


class CommandError(Exception):
    """A failure the user can act on: printed as one line, exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    settings = load_settings()
    if getattr(options, "address", None):
        settings = settings.model_copy(update={"address": options.address})
    try:
        code: int = options.run(options, settings)
    except CommandError as error:
        print(f"ragtune: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragtune", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(
        name: str, help_text: str, run: Callable[[argparse.Namespace, Settings], int]
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        sub.add_argument("--address", help="gateway host:port (default: $RAGTUNE_ADDRESS)")
        return sub

    serve = command("serve", "start the local stack (Milvus Lite, Ray, Serve) and deploy", _serve)
    serve.add_argument(
        "--adapter",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="serve the adapter `ragtune train` wrote to DIR as NAME (its purpose and base "
        "model are read from DIR); repeat for more",
    )
    command("stop", "stop the local stack", _stop)

    ingest = command("ingest", "add or update files (or every file in folders)", _ingest)
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--kb", default=DEFAULT_KB, help=f"NAMESPACE/NAME (default {DEFAULT_KB})")
    ingest.add_argument(
        "--prune", action="store_true", help="delete documents that are not in PATHs"
    )
    ingest.add_argument(
        "--hybrid",
        action="store_true",
        help="create the knowledge base with dense + BM25 search (when this ingest creates it)",
    )

    ask = command("ask", "ask a question; prints the answer, citations and timing", _ask)
    ask.add_argument("question")
    ask.add_argument("--kb", default=DEFAULT_KB)
    ask.add_argument(
        "--mode",
        choices=list(MODE_PROTOS),
        help="how to answer (default: rag+adapter when the knowledge base or --adapter names "
        "an adapter, else rag)",
    )
    ask.add_argument("--adapter", default="", help="generation adapter to answer through")
    for stage, purpose in (("rewrite", "query-rewrite"), ("rerank", "rerank")):
        ask.add_argument(
            f"--{stage}",
            action=argparse.BooleanOptionalAction,
            help=f"switch the {purpose} stage on or off (default: on when an adapter is set)",
        )
        ask.add_argument(f"--{stage}-adapter", default="", help=f"{purpose} adapter to use")
    ask.add_argument("--top-k", type=int)
    ask.add_argument("--max-tokens", type=int)
    ask.add_argument("--json", action="store_true", help="print the reply as JSON")

    evaluation = command(
        "eval", "measure every mode on your questions: a table, a report, a chart", _eval
    )
    evaluation.add_argument("--kb", default=DEFAULT_KB)
    evaluation.add_argument(
        "--questions",
        type=Path,
        required=True,
        help='JSONL: {"question": ..., "answer": ... or null, "documents": [ids]} per line',
    )
    evaluation.add_argument(
        "--modes",
        help=f"comma-separated, of {','.join(eval_modes.MODES)} (default: every mode the "
        "knowledge base can serve)",
    )
    evaluation.add_argument("--adapter", default="", help="generation adapter of the adapter modes")
    evaluation.add_argument("--out", type=Path, default=Path("eval-report"))
    evaluation.add_argument("--max-questions", type=int, help="only the first N questions")
    evaluation.add_argument("--top-k", type=int)
    evaluation.add_argument("--max-tokens", type=int)
    evaluation.add_argument("--price-in", type=float, default=0.0, help="per 1k prompt tokens")
    evaluation.add_argument("--price-out", type=float, default=0.0, help="per 1k output tokens")
    evaluation.add_argument(
        "--freshness",
        action="store_true",
        help="also time how soon each mode answers with a changed fact (adds, changes, then "
        "deletes a probe document in the knowledge base)",
    )
    evaluation.add_argument(
        "--freshness-timeout", type=float, default=60.0, help="seconds each mode gets to catch up"
    )
    evaluation.add_argument(
        "--summary",
        type=Path,
        help="also write the outcome as compact JSON (≤4 KiB) here: what an Evaluation "
        "resource's Job leaves in its termination message",
    )

    delete = command("delete", "delete documents by id", _delete)
    delete.add_argument("document_ids", nargs="+", metavar="DOC_ID")
    delete.add_argument("--kb", default=DEFAULT_KB)

    status = command("status", "exit 0 when the service answers; show a knowledge base", _status)
    status.add_argument("--kb", help="also show this knowledge base")

    top = command("top", "watch a knowledge base's latency per stage, live (WatchLatency)", _top)
    top.add_argument("--kb", default=DEFAULT_KB)
    top.add_argument("--interval", type=float, default=1.0, help="seconds between updates")
    top.add_argument("--count", type=int, default=0, help="stop after N updates (0: never)")

    exporter = command(
        "metrics-exporter",
        "serve the Prometheus metrics the serving processes of this node write to --dir",
        _metrics_exporter,
    )
    exporter.add_argument("--dir", type=Path, required=True, help="the metrics directory")
    exporter.add_argument("--port", type=int, default=METRICS_PORT)
    exporter.add_argument("--host", default="0.0.0.0")

    operator = command(
        "operator", "run the Kubernetes operator (KubeRay mode, or --direct)", _operator
    )
    operator.add_argument(
        "--direct",
        nargs="?",
        const="local",
        default="",
        metavar="DASHBOARD_URL",
        help="apply Serve configs to this Ray cluster's dashboard instead of creating "
        "RayServices (no value: the local stack's dashboard)",
    )
    operator.add_argument(
        "--namespace", action="append", default=[], help="watch only these namespaces"
    )
    operator.add_argument("--milvus-uri", help="Milvus of knowledge bases that name none")
    operator.add_argument(
        "--liveness", help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz"
    )
    operator.add_argument("--verbose", action="store_true")

    train = commands.add_parser(
        "train",
        help="fine-tune a LoRA adapter on a JSON Lines dataset",
        description="Fine-tune a LoRA adapter (PEFT) and save it, with training_metrics.json, "
        "into --out. Lines that are not valid examples are skipped and counted.",
    )
    train.set_defaults(run=_train)
    train.add_argument("--data", type=Path, required=True, help="JSON Lines file of examples")
    train.add_argument("--out", type=Path, required=True, help="directory to write the adapter to")
    train.add_argument("--purpose", choices=list(PURPOSES), default="generation")
    train.add_argument(
        "--base",
        default="",
        help="model to train on (default: the default generator model; "
        "for rerank, the default embedding model)",
    )
    defaults = TrainingOptions()
    train.add_argument("--epochs", type=int, default=defaults.epochs)
    train.add_argument("--rank", type=int, default=defaults.rank, help="LoRA rank r")
    train.add_argument("--alpha", type=int, default=defaults.alpha, help="LoRA alpha")
    train.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--max-length", type=int, default=defaults.max_length, help="tokens")
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument(
        "--report",
        type=Path,
        help="also write the metrics as one JSON line here (a Job's /dev/termination-log)",
    )

    demo = command("demo", "serve, ingest the sample corpus and ask three questions", _demo)
    demo.add_argument("--corpus", type=Path, default=Path("examples/corpus"))
    demo.add_argument("--questions", type=Path, default=Path("examples/questions.jsonl"))
    demo.add_argument("--kb", default=DEFAULT_KB)
    demo.add_argument("--count", type=int, default=3, help="questions to ask")
    return parser


# -- commands ------------------------------------------------------------------------------


def _serve(options: argparse.Namespace, settings: Settings) -> int:
    adapters = dict(_adapter_option(value) for value in options.adapter)
    try:
        local.start(settings, adapters=adapters)
    except local.StartError as error:
        raise CommandError(str(error)) from error
    return 0


def _adapter_option(value: str) -> tuple[str, AdapterArgs]:
    """NAME=DIR → the adapter trained into DIR, as serving loads it."""
    name, _, directory = value.partition("=")
    if not name or not directory:
        raise CommandError(f"--adapter {value!r}: write NAME=DIR")
    metrics = read_metrics(Path(directory))
    if metrics is None:
        raise CommandError(
            f"--adapter {value!r}: {directory} has no {METRICS_FILE}; give a directory "
            "`ragtune train` wrote"
        )
    try:
        args = AdapterArgs(
            path=str(Path(directory).resolve()),
            base_model=metrics["base_model"],
            purpose=metrics["purpose"],
        )
    except (KeyError, ValueError) as error:
        raise CommandError(f"--adapter {value!r}: {METRICS_FILE} is not usable: {error}") from error
    return name, args


def _stop(options: argparse.Namespace, settings: Settings) -> int:
    local.stop(settings)
    return 0


def _top(options: argparse.Namespace, settings: Settings) -> int:
    request = pb.WatchLatencyRequest(
        knowledge_base=options.kb, interval_seconds=options.interval, max_updates=options.count
    )
    clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
    with RagClient(settings.address, token=settings.token) as client:
        try:
            for snapshot in client.watch_latency(request):
                print(clear + latency_table(snapshot), flush=True)
        except ClientError as error:
            raise CommandError(_describe_error(error)) from error
    return 0


def latency_table(snapshot: pb.LatencySnapshot) -> str:
    """One WatchLatency update as a terminal table: a row per stage, in pipeline order."""
    order = ["embed", "rewrite", "retrieve", "rerank", "ttft", "generate", "total"]
    stages = sorted(
        snapshot.stages, key=lambda s: order.index(s.stage) if s.stage in order else len(order)
    )
    when = snapshot.time.ToDatetime().strftime("%H:%M:%S")
    lines = [
        f"{snapshot.knowledge_base} — last {snapshot.window_seconds:.0f} s, at {when} UTC",
        f"{'stage':<10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'count':>8}",
    ]
    lines += [
        f"{s.stage:<10}{s.p50_ms:>10.1f}{s.p90_ms:>10.1f}{s.p99_ms:>10.1f}{s.count:>8}"
        for s in stages
    ]
    if not stages:
        lines.append("(no questions answered in the window)")
    return "\n".join(lines)


def _metrics_exporter(options: argparse.Namespace, settings: Settings) -> int:
    metricsexport.serve(options.dir, options.port, options.host)
    return 0


def _status(options: argparse.Namespace, settings: Settings) -> int:
    with RagClient(settings.address, token=settings.token, timeout_s=10) as client:
        if not client.healthy():
            raise CommandError(
                f"ragtune is not serving at {settings.address}; start it with `ragtune serve`"
            )
        print(f"ragtune is serving at {settings.address}")
        if options.kb:
            kb = _call(client.get_knowledge_base, options.kb)
            print(
                f"{options.kb}: {kb.documents} documents, {kb.chunks} chunks, "
                f"chunk {kb.settings.chunk_size}/{kb.settings.chunk_overlap} tokens, "
                f"{'hybrid' if kb.settings.hybrid else 'dense'} search, collection {kb.collection}"
            )
            print(f"generator: {kb.generator}")
    return 0


def _operator(options: argparse.Namespace, settings: Settings) -> int:
    from ragtune_operator import main as operator_main

    direct = settings.dashboard_url if options.direct == "local" else options.direct
    milvus_uri = options.milvus_uri or (settings.effective_milvus_uri if direct else "")
    try:
        operator_main.run(
            options.namespace,
            direct=direct,
            milvus_uri=milvus_uri,
            liveness_endpoint=options.liveness,
            verbose=options.verbose,
        )
    except ValueError as error:
        raise CommandError(f"{error} (--namespace)") from error
    return 0


def _train(options: argparse.Namespace, settings: Settings) -> int:
    try:
        data = options.data.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read the dataset {options.data}: {error}") from error
    try:
        dataset = parse_jsonl(data, options.purpose)
        training = TrainingOptions(
            purpose=options.purpose,
            base_model=options.base,
            epochs=options.epochs,
            rank=options.rank,
            alpha=options.alpha,
            learning_rate=options.learning_rate,
            batch_size=options.batch_size,
            max_length=options.max_length,
            seed=options.seed,
        )
    except ValueError as error:
        raise CommandError(str(error)) from error
    print(f"training a {options.purpose} adapter on {training.base}: {dataset.summary()}")
    with tqdm(unit="step", desc="train", file=sys.stderr) as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.set_postfix(loss=f"{loss:.3f}")
            bar.update(1)

        try:
            metrics = train(dataset, options.out, training, progress)
        except ModelNotFound as error:
            raise CommandError(f"{error} (--base)") from error
    if options.report:
        options.report.write_text(json.dumps(asdict(metrics), separators=(",", ":")))
    print(
        f"saved {options.out}: final loss {metrics.final_loss:.4f} after {metrics.steps} steps "
        f"({metrics.seconds:.0f} s); {metrics.skipped_lines} dataset lines skipped"
    )
    return 0


def _ingest(options: argparse.Namespace, settings: Settings) -> int:
    files = list(_files(options.paths))
    if not files:
        raise CommandError("no files found in " + ", ".join(map(str, options.paths)))
    with RagClient(settings.address, token=settings.token) as client:
        counts = ingest_files(client, options.kb, files, prune=options.prune, hybrid=options.hybrid)
    print(", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n))
    return 0


def _ask(options: argparse.Namespace, settings: Settings) -> int:
    with RagClient(settings.address, token=settings.token) as client:
        if options.json:
            reply = _call(client.query, _query_request(options))
            print(json.dumps(json_format.MessageToDict(reply), indent=2))
        else:
            ask_and_print(client, _query_request(options))
    return 0


def _eval(options: argparse.Namespace, settings: Settings) -> int:
    plan = evaluate.Plan(
        kb=options.kb,
        questions_file=options.questions,
        modes=[m.strip() for m in options.modes.split(",") if m.strip()] if options.modes else None,
        adapter=options.adapter,
        out=options.out,
        max_questions=options.max_questions,
        top_k=options.top_k,
        max_tokens=options.max_tokens,
        prices=Prices(options.price_in, options.price_out),
        freshness=options.freshness,
        freshness_timeout_s=options.freshness_timeout,
        summary=options.summary,
    )
    with RagClient(settings.address, token=settings.token) as client:
        try:
            evaluate.evaluate(client, plan)
        except ClientError as error:
            raise CommandError(_describe_error(error)) from error
        except (QuestionSetError, eval_modes.ModeError, EvaluationError) as error:
            raise CommandError(str(error)) from error
    return 0


def _delete(options: argparse.Namespace, settings: Settings) -> int:
    with RagClient(settings.address, token=settings.token) as client:
        reply = _call(client.delete_documents, options.kb, options.document_ids)
    print(f"deleted {len(reply.deleted)} documents ({reply.chunks_deleted} chunks)")
    for missing in reply.not_found:
        print(f"  not found: {missing}")
    return 0


def _demo(options: argparse.Namespace, settings: Settings) -> int:
    if not options.corpus.is_dir():
        raise CommandError(f"sample corpus {options.corpus} not found; run from the repository")
    with RagClient(settings.address, token=settings.token) as client:
        if not client.healthy():
            try:
                local.start(settings)
            except local.StartError as error:
                raise CommandError(str(error)) from error
        print(f"\n== ingesting {options.corpus} into {options.kb}")
        files = list(_files([options.corpus]))
        counts = ingest_files(client, options.kb, files, prune=True, hybrid=False)
        print("   " + ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n))
        questions = [json.loads(line) for line in options.questions.read_text().splitlines()]
        for item in [q for q in questions if q.get("answer")][: options.count]:
            print(f"\n== {item['question']}")
            ask_and_print(
                client, pb.QueryRequest(knowledge_base=options.kb, question=item["question"])
            )
    return 0


# -- shared pieces -------------------------------------------------------------------------


def ingest_files(
    client: RagClient, kb: str, files: list[tuple[Path, str]], *, prune: bool, hybrid: bool
) -> dict[str, int]:
    """Send files in size-bounded batches with a progress bar; returns counts per outcome.

    With `prune`, the last request deletes stored documents not among `files`.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0, "refused": 0}
    refusals: list[str] = []
    batches = list(_batches(files))
    sent: list[str] = []
    with tqdm(total=len(files), unit="doc", desc="ingest", file=sys.stderr) as bar:
        for number, batch in enumerate(batches):
            request = pb.IngestRequest(
                knowledge_base=kb,
                documents=[
                    pb.Document(
                        id=doc_id, content=path.read_bytes(), source_uri=path.resolve().as_uri()
                    )
                    for path, doc_id in batch
                ],
            )
            if hybrid:
                request.settings.CopyFrom(_hybrid_settings())
            if prune and number == len(batches) - 1:
                request.prune = True
                request.keep.extend(sent)
            reply = _call(client.ingest, request)
            for result in reply.results:
                outcome = pb.DocumentOutcome.Name(result.outcome).removeprefix("DOCUMENT_OUTCOME_")
                counts[outcome.lower()] = counts.get(outcome.lower(), 0) + 1
                if result.outcome == pb.DOCUMENT_OUTCOME_REFUSED:
                    refusals.append(f"  refused {result.id}: {result.reason}")
            sent += [doc_id for _, doc_id in batch]
            bar.update(len(batch))
    for line in refusals:
        print(line)
    return counts


def _hybrid_settings() -> pb.KnowledgeBaseSettings:
    """The default index settings, with hybrid search on."""
    args = AppArgs()
    return pb.KnowledgeBaseSettings(
        chunk_size=args.knowledge_base_defaults.chunk_size,
        chunk_overlap=args.knowledge_base_defaults.chunk_overlap,
        hybrid=True,
        embedding_model=args.embedding.model,
    )


def ask_and_print(client: RagClient, request: pb.QueryRequest) -> None:
    """Stream an answer to stdout, then its citations and timing."""
    citations: list[pb.Citation] = []
    final = pb.QueryStreamFinal()
    for reply in _stream(client, request):
        kind = reply.WhichOneof("event")
        if kind == "citations":
            citations = list(reply.citations.citations)
            print(_how(reply.citations), file=sys.stderr)
        elif kind == "token":
            print(reply.token, end="", flush=True)
        elif kind == "final":
            final = reply.final
    print()
    cited = set(final.cited)
    for c in citations:
        mark = "*" if c.index in cited else " "
        source = c.source_uri.removeprefix("file://") or c.document_id
        print(f" {mark}[{c.index}] {source} (chunk {c.chunk}, similarity {c.similarity:.2f})")
    t = final.timing
    print(
        f"   timing: embed {t.embed_ms:.0f} ms, retrieve {t.retrieve_ms:.0f} ms, generate "
        f"{t.generate_ms:.0f} ms (first token {t.time_to_first_token_ms:.0f} ms), total "
        f"{t.total_ms:.0f} ms; tokens {final.usage.prompt_tokens} in, "
        f"{final.usage.completion_tokens} out"
    )


def _how(head: pb.CitationList) -> str:
    """One line saying how the answer is made: mode, adapter, rewrite, re-rank."""
    mode = pb.Mode.Name(head.mode).removeprefix("MODE_").lower().replace("_", "+")
    parts = [f"mode {mode}"]
    if head.adapter:
        parts.append(f"adapter {head.adapter}")
    if head.rewritten_question:
        parts.append(f"searched for {head.rewritten_question!r}")
    if head.reranked:
        parts.append("re-ranked")
    return "   (" + ", ".join(parts) + ")"


def _query_request(options: argparse.Namespace) -> pb.QueryRequest:
    request = pb.QueryRequest(
        knowledge_base=options.kb,
        question=options.question,
        mode=MODE_PROTOS[options.mode] if options.mode else pb.MODE_UNSPECIFIED,
        adapter=options.adapter,
        rewrite_adapter=options.rewrite_adapter,
        rerank_adapter=options.rerank_adapter,
    )
    if options.rewrite is not None:
        request.rewrite = options.rewrite
    if options.rerank is not None:
        request.rerank = options.rerank
    if options.top_k is not None:
        request.top_k = options.top_k
    if options.max_tokens is not None:
        request.max_tokens = options.max_tokens
    return request


def _stream(client: RagClient, request: pb.QueryRequest) -> Iterator[pb.QueryStreamResponse]:
    try:
        yield from client.query_stream(request)
    except ClientError as error:
        raise CommandError(_describe_error(error)) from error


def _call(method: Callable[..., T], *args: Any) -> T:
    try:
        return method(*args)
    except ClientError as error:
        raise CommandError(_describe_error(error)) from error


def _describe_error(error: ClientError) -> str:
    return f"{error.code.name}: {error.message}"


def _files(paths: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    """(file, document id): a file given directly is named by its file name; a file found in
    a folder by its path relative to that folder."""
    for path in paths:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        if path.is_file():
            yield path, path.name
            continue
        for file in sorted(path.rglob("*")):
            parts = set(file.relative_to(path).parts[:-1])
            if file.is_file() and not parts & SKIPPED_DIRS and not file.name.startswith("."):
                yield file, file.relative_to(path).as_posix()


def _batches(files: list[tuple[Path, str]]) -> Iterator[list[tuple[Path, str]]]:
    batch: list[tuple[Path, str]] = []
    size = 0
    for path, doc_id in files:
        length = path.stat().st_size
        if batch and (size + length > REQUEST_BYTES or len(batch) >= REQUEST_DOCUMENTS):
            yield batch
            batch, size = [], 0
        batch.append((path, doc_id))
        size += length
    if batch:
        yield batch


if __name__ == "__main__":
    sys.exit(main())
