"""The ways in: gRPC health and reflection, HTTP/JSON, and the `ragtune` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration
RAGTUNE = str(Path(sys.executable).with_name("ragtune"))


def test_health_and_reflection(stack: Settings) -> None:
    with grpc.insecure_channel(stack.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service="ragtune.v1.RagService"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as raised:
            health.Check(health_pb2.HealthCheckRequest(service="no.Such"))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
        assert "ragtune.v1.RagService" in services
        assert "grpc.health.v1.Health" in services


def _post(stack: Settings, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.http_port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_http_json_door(stack: Settings, corpus_kb: str) -> None:
    status, body = _post(
        stack,
        "/v1/query",
        {"knowledgeBase": corpus_kb, "question": "Who founded Kestrel Harbor Logistics?"},
    )
    assert status == 200
    assert body["citations"][0]["documentId"] == "company-history.md"  # type: ignore[index]
    status, body = _post(stack, "/v1/query", {"knowledgeBase": corpus_kb, "question": ""})
    assert status == 400 and body["code"] == "INVALID_ARGUMENT"
    status, body = _post(stack, "/v1/query", {"knowledgeBase": "x/y", "question": "hi"})
    assert status == 404 and body["code"] == "NOT_FOUND"
    status, body = _post(stack, "/v1/query", {"knowledgeBase": corpus_kb, "nope": 1})
    assert status == 400 and "nope" in str(body["message"])


def _ragtune(stack: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RAGTUNE_ADDRESS=stack.address, RAGTUNE_HOME=str(stack.home))
    return subprocess.run(
        [RAGTUNE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_cli_ingest_ask_status_delete(stack: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "ferry.md").write_text("The night ferry to Skerra is called the Grey Petrel.")
    (folder / "sub" / "mill.md").write_text("The old mill on the Aske river grinds barley.")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    done = _ragtune(stack, "ingest", str(folder), "--kb", "itest/cli")
    assert done.returncode == 0, done.stderr
    assert "2 created" in done.stdout and "1 refused" in done.stdout
    assert "refused photo.png" in done.stdout

    done = _ragtune(stack, "ask", "What is the night ferry to Skerra called?", "--kb", "itest/cli")
    assert done.returncode == 0, done.stderr
    assert "Grey Petrel" in done.stdout
    assert str(folder / "ferry.md") in done.stdout
    assert "timing:" in done.stdout and "retrieve" in done.stdout

    done = _ragtune(stack, "status", "--kb", "itest/cli")
    assert done.returncode == 0 and "2 documents" in done.stdout

    done = _ragtune(stack, "delete", "sub/mill.md", "--kb", "itest/cli")
    assert done.returncode == 0 and "deleted 1 documents" in done.stdout


def test_cli_reports_a_server_that_is_not_up_in_one_line(stack: Settings) -> None:
    down = stack.model_copy(update={"address": "127.0.0.1:9"})
    for args in (["status"], ["ask", "hello?"], ["ingest", __file__]):
        done = _ragtune(down, *args)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert lines and "not" in lines[-1] and "127.0.0.1:9" in lines[-1], done.stderr
    done = _ragtune(stack, "ask", "x", "--kb", "itest/never")
    assert done.returncode == 1 and done.stderr.startswith("ragtune: NOT_FOUND")
