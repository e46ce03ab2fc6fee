"""A knowledge base that requires a bearer token refuses every RagService method without it,
over gRPC and HTTP/JSON, streaming included; health and other knowledge bases stay open.

The session's application is deployed again through the Ray dashboard with the same `args`,
so only the gateway's user_config (its access table) changes: no replica restarts.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import local, raydashboard
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.config import KnowledgeBaseAccess
from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration
GUARDED = "itest/guarded"
TOKEN = "guarded-kb-token-7f3a"
RECONFIGURE_TIMEOUT_S = 180.0
Call = Callable[[RagClient], object]

# Every RagService method, as a client calls it, against the guarded knowledge base.
METHODS: dict[str, Call] = {
    "Query": lambda c: c.query(pb.QueryRequest(knowledge_base=GUARDED, question="Who?")),
    "QueryStream": lambda c: list(
        c.query_stream(pb.QueryRequest(knowledge_base=GUARDED, question="Who?", max_tokens=2))
    ),
    "Ingest": lambda c: c.ingest(
        pb.IngestRequest(
            knowledge_base=GUARDED,
            documents=[pb.Document(id="more.md", content=b"Otters hold hands asleep.")],
        )
    ),
    "DeleteDocuments": lambda c: c.delete_documents(GUARDED, ["more.md"]),
    "GetKnowledgeBase": lambda c: c.get_knowledge_base(GUARDED),
    "WatchLatency": lambda c: list(
        c.watch_latency(pb.WatchLatencyRequest(knowledge_base=GUARDED, max_updates=1))
    ),
    "DeleteKnowledgeBase": lambda c: c.delete_knowledge_base(GUARDED),
}


def _deploy(stack: Settings, access: dict[str, KnowledgeBaseAccess]) -> None:
    config = local.serve_config(stack, local.app_args(stack), access=access)
    raydashboard.put_config(stack.dashboard_url, config)
    raydashboard.wait_running(stack.dashboard_url, [local.APP_NAME], RECONFIGURE_TIMEOUT_S)


@pytest.fixture
def guarded(stack: Settings, client: RagClient) -> Iterator[str]:
    """GUARDED holds one document and requires TOKEN; afterwards it is dropped and the
    session's original config (no access table) is deployed again, whatever happened."""
    client.ingest(
        pb.IngestRequest(
            knowledge_base=GUARDED,
            documents=[pb.Document(id="otters.md", content=b"Sea otters sleep holding hands.")],
        )
    )
    _deploy(stack, {GUARDED: KnowledgeBaseAccess.for_token(TOKEN)})
    try:
        _wait_until_refused(stack)
        yield GUARDED
    finally:
        _deploy(stack, {})
        client.delete_knowledge_base(GUARDED)


def _wait_until_refused(stack: Settings) -> None:
    """The reconfigure reaches the gateway replica shortly after the deploy reports RUNNING."""
    deadline = time.monotonic() + RECONFIGURE_TIMEOUT_S
    with RagClient(stack.address, timeout_s=60) as anonymous:
        while time.monotonic() < deadline:
            try:
                anonymous.get_knowledge_base(GUARDED)
            except ClientError as error:
                if error.code == grpc.StatusCode.UNAUTHENTICATED:
                    return
                raise
            time.sleep(0.5)
    raise AssertionError(f"{GUARDED} still answers without a token")


def _code(stack: Settings, token: str | None, method: str) -> grpc.StatusCode:
    with RagClient(stack.address, timeout_s=300, token=token) as rag:
        try:
            METHODS[method](rag)
        except ClientError as error:
            assert "Traceback" not in error.message and TOKEN not in error.message
            return error.code
    return grpc.StatusCode.OK


def _http(
    stack: Settings, method: str, path: str, body: dict[str, Any] | None, token: str | None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.http_port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_every_method_refuses_a_missing_or_wrong_token_and_takes_the_right_one(
    stack: Settings, client: RagClient, corpus_kb: str, guarded: str
) -> None:
    # DeleteKnowledgeBase last: with the right token it drops the knowledge base.
    for method in METHODS:
        assert _code(stack, None, method) == grpc.StatusCode.UNAUTHENTICATED, method
        assert _code(stack, "not-" + TOKEN, method) == grpc.StatusCode.UNAUTHENTICATED, method
        assert _code(stack, TOKEN.upper(), method) == grpc.StatusCode.UNAUTHENTICATED, method
    with RagClient(stack.address, timeout_s=300, token=TOKEN) as rag:
        assert rag.get_knowledge_base(guarded).documents == 1  # nothing refused changed it
    for method in METHODS:
        assert _code(stack, TOKEN, method) == grpc.StatusCode.OK, method

    # Health, and knowledge bases that require nothing, stay open to everyone.
    assert client.healthy()
    with grpc.insecure_channel(stack.address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert client.get_knowledge_base(corpus_kb).documents > 0


def test_the_http_door_asks_for_the_same_token(stack: Settings, guarded: str) -> None:
    path = f"/v1/knowledgebases/{guarded}"
    query = {"knowledgeBase": guarded, "question": "How do otters sleep?", "maxTokens": 2}
    for token in (None, "wrong"):
        status, body = _http(stack, "GET", path, None, token)
        assert (status, body["code"]) == (401, "UNAUTHENTICATED")
        status, body = _http(stack, "POST", "/v1/query", query, token)
        assert (status, body["code"]) == (401, "UNAUTHENTICATED")
        status, body = _http(stack, "DELETE", path, None, token)
        assert (status, body["code"]) == (401, "UNAUTHENTICATED")
    status, body = _http(stack, "GET", path, None, TOKEN)
    assert (status, int(body["documents"])) == (200, 1)
    status, body = _http(stack, "POST", "/v1/query", query, TOKEN)
    assert status == 200 and body["citations"][0]["documentId"] == "otters.md"
    assert _http(stack, "GET", "/healthz", None, None)[0] == 200
