"""Adapters reach running replicas through the generator's user_config, without restarting any.

The session's application is deployed again through the Ray dashboard with the same `args` that
`ragtune serve` deployed, so only the generator's user_config changes.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import local, raydashboard
from ragtune_serving.client import RagClient
from ragtune_serving.config import PACKAGED_GENERATOR, AdapterArgs
from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration
RECONFIGURE_TIMEOUT_S = 180.0


def _deploy(stack: Settings, adapters: Mapping[str, AdapterArgs] | None = None) -> None:
    """PUT the session's serve config (as local.deploy renders it) with `adapters`."""
    config = local.serve_config(stack, local.app_args(stack), adapters)
    raydashboard.put_config(stack.dashboard_url, config)


def _replica_ids(stack: Settings) -> dict[str, list[str]]:
    """Deployment name → ids of its running replicas."""
    application: dict[str, Any] = raydashboard.application_statuses(stack.dashboard_url)[
        local.APP_NAME
    ]
    return {
        name: sorted(r["replica_id"] for r in deployment["replicas"] if r["state"] == "RUNNING")
        for name, deployment in application["deployments"].items()
    }


def _wait_for_adapters(client: RagClient, kb: str, expected: list[str]) -> None:
    deadline = time.monotonic() + RECONFIGURE_TIMEOUT_S
    loaded: list[str] = []
    while time.monotonic() < deadline:
        loaded = list(client.get_knowledge_base(kb).loaded_adapters)
        if loaded == expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"loaded adapters {loaded}, not {expected}, after the reconfigure")


def _http_loaded_adapters(stack: Settings, kb: str) -> object:
    url = f"http://127.0.0.1:{stack.http_port}/v1/knowledgebases/{kb}"
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read()).get("loadedAdapters")


def _fields(request: pb.QueryRequest) -> dict[str, str]:
    return {"knowledge_base": request.knowledge_base, "question": request.question}


@pytest.fixture
def restored(stack: Settings) -> Iterator[None]:
    """Deploy the original config (no adapters) again afterwards, whatever happened."""
    yield
    _deploy(stack)
    raydashboard.wait_running(stack.dashboard_url, [local.APP_NAME], RECONFIGURE_TIMEOUT_S)


def test_adapters_load_and_unload_without_restarting_replicas(
    client: RagClient, stack: Settings, corpus_kb: str, tone_adapter: Path, restored: None
) -> None:
    before = _replica_ids(stack)
    assert before["Generator"] and before["Gateway"]
    assert client.get_knowledge_base(corpus_kb).loaded_adapters == []
    question = pb.QueryRequest(knowledge_base=corpus_kb, question="Who founded the company?")
    answer = client.query(question).answer

    _deploy(
        stack,
        {
            "tone": AdapterArgs(path=str(tone_adapter), base_model=PACKAGED_GENERATOR),
            # skipped with a logged error, never a crash: another base model, a missing folder
            "alien": AdapterArgs(path=str(tone_adapter), base_model="org/other-model"),
            "broken": AdapterArgs(path=str(tone_adapter / "absent"), base_model=PACKAGED_GENERATOR),
        },
    )
    _wait_for_adapters(client, corpus_kb, ["tone"])
    assert _http_loaded_adapters(stack, corpus_kb) == ["tone"]
    reports = client.get_knowledge_base(corpus_kb).adapters
    states = {a.name: (pb.AdapterState.Name(a.state), a.reason) for a in reports}
    assert states["tone"] == ("ADAPTER_STATE_READY", "")  # probed on the replica
    assert states["alien"][0] == "ADAPTER_STATE_FAILED" and "org/other-model" in states["alien"][1]
    assert states["broken"][0] == "ADAPTER_STATE_FAILED"
    assert "adapter_config.json is missing" in states["broken"][1]
    assert client.query(question).answer == answer  # rag mode: the base model, as before
    toned = client.query(pb.QueryRequest(adapter="tone", **_fields(question)))
    assert toned.mode == pb.MODE_RAG_ADAPTER and toned.answer != answer  # per request
    assert _replica_ids(stack) == before

    _deploy(stack)  # the last adapter removed: the user_config says "none"
    _wait_for_adapters(client, corpus_kb, [])
    assert _http_loaded_adapters(stack, corpus_kb) is None  # empty lists are left out of JSON
    assert client.query(question).grounded
    raydashboard.wait_running(stack.dashboard_url, [local.APP_NAME], RECONFIGURE_TIMEOUT_S)
    assert _replica_ids(stack) == before
