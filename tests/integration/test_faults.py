"""Faults on the real local stack: Milvus stopped and started again, a model replica killed
under load. The service answers with a status code (never hangs), recovers by itself, and
loses nothing that was ingested."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from loadgen import Load
from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import local, raydashboard
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.rag.kbnames import collection_alias, parse_kb_ref
from ragtune_serving.settings import Settings
from ragtune_serving.stores.milvus_store import connect

pytestmark = pytest.mark.integration
RECOVERY_TIMEOUT_S = 240.0
QUESTION = "Who founded the company?"


def _eventually(check: Callable[[], Any], what: str, timeout_s: float = RECOVERY_TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            found = check()
        except ClientError as error:
            last = error
        else:
            if found:
                return found
            last = found
        time.sleep(1.0)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s (last: {last!r})")


def _stop_milvus(stack: Settings) -> None:
    pid_file = stack.home / "milvus.pid"
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGKILL)
    pid_file.unlink()
    _eventually(lambda: not _listening(stack.milvus_port), "Milvus stopped", 30)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_with_milvus_down_queries_fail_fast_with_unavailable_and_recover_when_it_returns(
    stack: Settings, client: RagClient, corpus_kb: str
) -> None:
    before = client.get_knowledge_base(corpus_kb)
    question = pb.QueryRequest(knowledge_base=corpus_kb, question=QUESTION, max_tokens=8)
    assert client.query(question).citations
    _stop_milvus(stack)
    try:
        # A deadline below any retry loop's patience: a hang would end DEADLINE_EXCEEDED.
        with RagClient(stack.address, timeout_s=60) as impatient:
            for ask in (
                lambda: impatient.query(question),
                lambda: list(impatient.query_stream(question)),
                lambda: impatient.get_knowledge_base(corpus_kb),
                lambda: impatient.ingest(
                    pb.IngestRequest(
                        knowledge_base=corpus_kb,
                        documents=[pb.Document(id="outage.md", content=b"Written in an outage.")],
                    )
                ),
            ):
                started = time.monotonic()
                with pytest.raises(ClientError) as raised:
                    ask()
                print(f"refused in {time.monotonic() - started:.2f} s: {raised.value.message}")
                assert raised.value.code == grpc.StatusCode.UNAVAILABLE, raised.value.message
                assert "Milvus" in raised.value.message
            assert not impatient.healthy()
        # No replica is replaced for an outage that is not its own.
        replicas = _replica_ids(stack)
    finally:
        local.start_milvus(stack)

    answer = _eventually(lambda: client.query(question).citations, "a cited answer again")
    assert answer
    assert client.healthy()
    after = client.get_knowledge_base(corpus_kb)
    assert (after.documents, after.chunks) == (before.documents, before.chunks)
    assert _replica_ids(stack) == replicas


def _replica_ids(stack: Settings) -> dict[str, list[str]]:
    application: dict[str, Any] = raydashboard.application_statuses(stack.dashboard_url)[
        local.APP_NAME
    ]
    return {
        name: sorted(r["replica_id"] for r in deployment["replicas"] if r["state"] == "RUNNING")
        for name, deployment in application["deployments"].items()
    }


def _replica_pid(stack: Settings, deployment: str) -> int:
    """The process of the deployment's (one) running replica."""
    from ray.util.state import list_actors

    actors = list_actors(
        address=stack.dashboard_url,
        filters=[("class_name", "=", f"ServeReplica:{local.APP_NAME}:{deployment}")],
        detail=True,
    )
    alive = [a for a in actors if a.state == "ALIVE"]
    assert len(alive) == 1, alive
    return int(alive[0].pid)


@pytest.mark.parametrize("deployment", ["Retriever", "Generator"])
def test_a_replica_killed_under_load_costs_in_flight_requests_at_most_unavailable(
    stack: Settings, client: RagClient, corpus_kb: str, deployment: str
) -> None:
    before = client.get_knowledge_base(corpus_kb)
    question = pb.QueryRequest(knowledge_base=corpus_kb, question=QUESTION, max_tokens=16)
    replicas = _replica_ids(stack)[deployment]
    pid = _replica_pid(stack, deployment)

    with Load(stack.address, question, clients=4) as load:
        # A stream with its first token out is still generating when the replica is killed.
        stream = client.query_stream(question)
        assert next(item for item in stream if item.HasField("token"))
        os.kill(pid, signal.SIGKILL)
        _eventually(
            lambda: _replica_ids(stack)[deployment] not in ([], replicas),
            f"Serve replacing the {deployment} replica",
        )
        answered = len(load.codes)
        _eventually(lambda: len(load.codes) > answered + 4, "answers from the new replica")
    if deployment == "Generator":
        with pytest.raises(ClientError) as broken:
            list(stream)
        assert broken.value.code == grpc.StatusCode.UNAVAILABLE, broken.value.message
    else:
        list(stream)  # the retriever's part of it was done
    print(f"{deployment} killed: {load.codes.count(grpc.StatusCode.OK)} OK of {len(load.codes)}")
    assert set(load.codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, load.failures()
    assert load.codes[-4:] == [grpc.StatusCode.OK] * 4
    after = client.get_knowledge_base(corpus_kb)
    assert (after.documents, after.chunks) == (before.documents, before.chunks)


def _ingest_command(stack: Settings, kb: str, folder: Path) -> list[str]:
    ragtune = str(Path(sys.executable).with_name("ragtune"))
    return [ragtune, "ingest", str(folder), "--kb", kb, "--address", stack.address]


def _stored_ids(stack: Settings, kb: str) -> list[str]:
    """Every chunk id stored behind the knowledge base's alias, duplicates included."""
    milvus = connect(stack.effective_milvus_uri)
    try:
        alias = collection_alias(parse_kb_ref(kb))
        rows = milvus.query(alias, filter='id != ""', output_fields=["id"], limit=16384)
        return [str(row["id"]) for row in rows]
    finally:
        milvus.close()


@pytest.mark.parametrize("killed", ["client", "retriever"])
def test_an_ingest_interrupted_half_way_and_run_again_stores_each_chunk_exactly_once(
    stack: Settings, client: RagClient, tmp_path: Path, killed: str
) -> None:
    """`ragtune ingest` of 300 files (five requests) is cut off once some documents are in —
    the CLI killed, or the retriever replica writing them — then run again to the end."""
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(300):
        (folder / f"note-{n:03d}.md").write_text(
            f"Note {n}. Shipment {n} left dock {n % 7} on day {n % 30}. "
            f"It carried {n * 3} crates of item {n % 11}. " * (1 + n % 3)
        )
    kb, reference = f"itest/interrupted-{killed}", f"itest/uninterrupted-{killed}"
    done = subprocess.run(_ingest_command(stack, reference, folder), capture_output=True)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = client.get_knowledge_base(reference)

    cut = subprocess.Popen(
        _ingest_command(stack, kb, folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _eventually(lambda: client.get_knowledge_base(kb).documents > 0, "a first batch stored", 120)
    if killed == "client":
        cut.kill()
    else:
        os.kill(_replica_pid(stack, "Retriever"), signal.SIGKILL)
    cut.wait(timeout=300)
    partial = client.get_knowledge_base(kb) if killed == "client" else None
    assert partial is None or partial.documents < expected.documents, "not cut off half-way"

    again = _eventually(
        lambda: (
            subprocess.run(_ingest_command(stack, kb, folder), capture_output=True).returncode == 0
        ),
        "the second run finishing",
    )
    assert again
    after = client.get_knowledge_base(kb)
    assert (after.documents, after.chunks) == (expected.documents, expected.chunks)
    ids = _stored_ids(stack, kb)
    assert len(ids) == len(set(ids)) == expected.chunks
    assert sorted(ids) == sorted(_stored_ids(stack, reference))
    for name in (kb, reference):
        client.delete_knowledge_base(name)
