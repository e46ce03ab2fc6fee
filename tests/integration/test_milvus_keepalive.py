"""A Milvus client left idle sends no keepalive pings, which the Milvus Lite server refuses.

pymilvus's own options ping an idle channel every 10 s; after a few such pings (40-130 s here)
the server answers with GOAWAY "too many pings", and calls and new clients of that process can
fail. Two clients idle side by side in their own processes, with gRPC's keepalive trace on:
ours must send no ping, pymilvus's defaults must (else this test no longer checks anything).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration

IDLE_S = 25  # beyond two 10 s keepalive periods
PING_DONE = "Finish keepalive ping"  # gRPC's http_keepalive trace, one line per idle ping
GOAWAY = "too_many_pings"

IDLE_CLIENT = """
import sys, time
from pymilvus import MilvusClient
from ragtune_serving.stores.milvus_store import connect
uri, ours = sys.argv[1], sys.argv[2] == "ours"
client = connect(uri) if ours else MilvusClient(uri)
client.list_collections()
time.sleep(float(sys.argv[3]))
client.list_collections()
print("answered")
"""


def _idle(uri: str, which: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", IDLE_CLIENT, uri, which, str(IDLE_S)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GRPC_TRACE": "http_keepalive", "GRPC_VERBOSITY": "debug"},
    )


def test_an_idle_client_sends_no_keepalive_ping(stack: Settings) -> None:
    ours, defaults = (_idle(stack.effective_milvus_uri, w) for w in ("ours", "defaults"))
    ours_out, ours_err = ours.communicate(timeout=IDLE_S + 60)
    _, defaults_err = defaults.communicate(timeout=IDLE_S + 60)

    assert ours.returncode == 0, ours_err[-2000:]
    assert ours_out.strip() == "answered"
    assert ours_err.count(PING_DONE) == 0
    assert GOAWAY not in ours_err
    assert defaults_err.count(PING_DONE) >= 1, "pymilvus's defaults no longer ping when idle"
