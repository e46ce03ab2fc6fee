"""The client's errors: its own words when nothing listens, the server's words otherwise."""

from __future__ import annotations

import socket

import grpc

from ragtune_serving.client import ClientError, RagClient, _client_error


class _Failed(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """A finished call as grpc raises it, with a code and details."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_nothing_listening_says_ragtune_is_not_running() -> None:
    address = f"127.0.0.1:{_closed_port()}"
    with RagClient(address, timeout_s=5) as client:
        try:
            client.get_knowledge_base("team-a/kb")
        except ClientError as error:
            assert error.code == grpc.StatusCode.UNAVAILABLE
            assert (
                error.message
                == f"ragtune is not running at {address}; start it with `ragtune serve`"
            )
        else:
            raise AssertionError("a call to a closed port succeeded")


def test_a_servers_unavailable_keeps_its_message() -> None:
    details = "Milvus at http://milvus:19530 is unreachable: Fail connecting to server"
    error = _client_error(_Failed(grpc.StatusCode.UNAVAILABLE, details), "gw:9000")
    assert (error.code, error.message) == (grpc.StatusCode.UNAVAILABLE, details)
