"""Where the operator reads documents from, and where it refuses to."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune_operator.clients import fetching
from ragtune_operator.specs import KnowledgeBaseSpec


def _spec(source: dict[str, object]) -> KnowledgeBaseSpec:
    return KnowledgeBaseSpec.model_validate({"sources": [source]})


def test_path_sources_are_read_only_under_the_configured_root(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "a.md").write_text("alpha")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    found = fetching.documents(_spec({"path": str(root)}), "ns", "kb", paths_root=str(root))
    assert [d["id"] for d in found] == ["guides/a.md"]

    secret = tmp_path / "token"
    secret.write_text("operator credentials")
    with pytest.raises(fetching.SourceUnavailable, match="outside"):
        fetching.documents(_spec({"path": str(secret)}), "ns", "kb", paths_root=str(root))
    escape = f"{root}/../token"
    with pytest.raises(fetching.SourceUnavailable, match="outside"):
        fetching.documents(_spec({"path": escape}), "ns", "kb", paths_root=str(root))
    with pytest.raises(fetching.SourceUnavailable, match="path sources are off"):
        fetching.documents(_spec({"path": str(root)}), "ns", "kb", paths_root="")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/doc", "http://localhost/doc", "http://169.254.169.254/meta"]
)
def test_urls_on_loopback_or_link_local_addresses_are_refused(url: str) -> None:
    with pytest.raises(fetching.SourceUnavailable, match="loopback or link-local"):
        fetching.documents(_spec({"url": url}), "ns", "kb", paths_root="")
