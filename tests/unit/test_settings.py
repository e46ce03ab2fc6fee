"""Process settings come from RAGTUNE_* variables of a given mapping, typed and validated."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from ragtune_serving.settings import Settings, load_settings


def test_empty_mapping_gives_the_defaults() -> None:
    assert load_settings({}) == Settings()


def test_variables_are_read_and_converted() -> None:
    settings = load_settings(
        {
            "RAGTUNE_HOME": "/var/lib/ragtune",
            "RAGTUNE_ADDRESS": "kb.example:9443",
            "RAGTUNE_GRPC_PORT": "9100",
            "RAGTUNE_HTTP_PORT": "8100",
            "RAGTUNE_RAY_PORT": "6400",
            "RAGTUNE_DASHBOARD_PORT": "8300",
            "RAGTUNE_MILVUS_PORT": "19600",
            "RAGTUNE_MILVUS_TOKEN": "root:Milvus",
            "RAGTUNE_NUM_CPUS": "4",
            "RAGTUNE_START_TIMEOUT_S": "30.5",
        }
    )
    assert settings.home == Path("/var/lib/ragtune")
    assert isinstance(settings.home, Path)
    assert settings.address == "kb.example:9443"
    assert settings.grpc_port == 9100
    assert settings.http_port == 8100
    assert settings.ray_port == 6400
    assert settings.dashboard_port == 8300
    assert settings.milvus_port == 19600
    assert settings.milvus_token == "root:Milvus"
    assert settings.num_cpus == 4
    assert settings.start_timeout_s == 30.5
    assert settings.dashboard_url == "http://127.0.0.1:8300"


def test_unrelated_and_misnamed_variables_are_ignored() -> None:
    settings = load_settings(
        {
            "GRPC_PORT": "1",
            "HOME": "/root",
            "RAGTUNE_UNKNOWN": "x",
            "ragtune_grpc_port": "2",
            "RAGTUNEGRPC_PORT": "3",
        }
    )
    assert settings == Settings()


def test_only_set_variables_override() -> None:
    settings = load_settings({"RAGTUNE_HTTP_PORT": "8081"})
    assert settings.http_port == 8081
    assert settings.grpc_port == Settings().grpc_port


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RAGTUNE_GRPC_PORT", "nine thousand"),
        ("RAGTUNE_HTTP_PORT", "80.5"),
        ("RAGTUNE_MILVUS_PORT", ""),
        ("RAGTUNE_START_TIMEOUT_S", "soon"),
    ],
)
def test_malformed_numbers_are_refused(name: str, value: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        load_settings({name: value})


def test_local_milvus_uri_uses_the_milvus_port() -> None:
    settings = load_settings({"RAGTUNE_MILVUS_PORT": "19999"})
    assert settings.effective_milvus_uri == "http://127.0.0.1:19999"


def test_explicit_milvus_uri_wins_over_the_port() -> None:
    settings = load_settings(
        {"RAGTUNE_MILVUS_URI": "http://milvus.data:19530", "RAGTUNE_MILVUS_PORT": "19999"}
    )
    assert settings.effective_milvus_uri == "http://milvus.data:19530"


def test_empty_milvus_uri_means_local() -> None:
    settings = load_settings({"RAGTUNE_MILVUS_URI": ""})
    assert settings.effective_milvus_uri == f"http://127.0.0.1:{Settings().milvus_port}"


def test_settings_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        load_settings({}).grpc_port = 1
