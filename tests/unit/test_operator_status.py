"""What a knowledge base's status says for what the operator observed (pure)."""

from __future__ import annotations

from ragtune_operator.reconcile import documents as docs
from ragtune_operator.reconcile import status as st
from ragtune_operator.specs import KnowledgeBaseSpec

RUNNING = st.Verdict("True", "Running", "runs")
DEPLOYING = st.Verdict("False", "Deploying", "not yet")
INDEXED = st.Verdict("True", "Indexed", "3 documents")
UNREACHABLE = st.Verdict("False", "GatewayUnreachable", "connection refused")


def _facts(**changes: object) -> st.Facts:
    values: dict[str, object] = {
        "generation": 3,
        "refused": "",
        "serving": RUNNING,
        "indexed": INDEXED,
    }
    values.update(changes)
    return st.Facts(**values)  # type: ignore[arg-type]


def test_ready_needs_serving_and_indexed_and_names_what_is_missing() -> None:
    assert st.ready(_facts()).status == "True"
    assert st.phase(_facts()) == "Ready"
    waiting = _facts(indexed=UNREACHABLE)
    assert st.ready(waiting) == st.Verdict(
        "False", "NotIndexed", "GatewayUnreachable: connection refused"
    )
    assert st.phase(waiting) == "Indexing"
    assert st.phase(_facts(serving=DEPLOYING, indexed=UNREACHABLE)) == "Pending"
    assert not st.is_problem(waiting)


def test_a_refused_knowledge_base_is_failed_with_the_reason_and_a_warning() -> None:
    refused = _facts(refused="adapter 'x' does not exist")
    assert st.ready(refused) == st.Verdict("False", "Refused", "adapter 'x' does not exist")
    assert st.phase(refused) == "Failed"
    assert st.is_problem(refused)
    assert st.is_problem(_facts(indexed=st.Verdict("False", "SourceUnavailable", "gone")))


def test_pending_adapters_keep_it_ready_but_say_so() -> None:
    verdict = st.ready(_facts(pending_adapters=("tone",)))
    assert verdict.status == "True" and "tone" in verdict.message


def test_conditions_carry_generation_and_keep_transition_time_while_status_holds() -> None:
    first = st.conditions(_facts(indexed=UNREACHABLE), [], "2026-01-01T00:00:00+00:00")
    assert [c["type"] for c in first] == ["Indexed", "Serving", "Ready"]
    assert {c["observedGeneration"] for c in first} == {3}
    later = st.conditions(_facts(), first, "2026-01-01T00:05:00+00:00")
    times = {c["type"]: c["lastTransitionTime"] for c in later}
    assert times["Serving"] == "2026-01-01T00:00:00+00:00"  # True both times
    assert times["Indexed"] == times["Ready"] == "2026-01-01T00:05:00+00:00"
    assert [c["type"] for c in st.transitions(first, later)] == ["Indexed", "Ready"]
    assert st.transitions(later, later) == []


def test_serving_is_read_from_kuberay_or_the_dashboard() -> None:
    assert st.serving_from_rayservice(None).reason == "Deploying"
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert st.serving_from_rayservice(ready).status == "True"
    legacy = {"status": {"serviceStatus": "Running"}}
    assert st.serving_from_rayservice(legacy).status == "True"
    failing = {"status": {"conditions": [{"type": "Ready", "status": "False", "message": "OOM"}]}}
    assert st.serving_from_rayservice(failing) == st.Verdict(
        "False", "Deploying", "RayService: OOM"
    )
    assert st.serving_from_application({"status": "RUNNING"}).status == "True"
    failed = st.serving_from_application({"status": "DEPLOY_FAILED", "message": "boom"})
    assert failed == st.Verdict("False", "DeployFailed", "boom")
    assert st.phase(_facts(serving=failed, indexed=UNREACHABLE)) == "Failed"


def test_documents_and_digest_follow_content_metadata_and_settings() -> None:
    spec = KnowledgeBaseSpec.model_validate(
        {"sources": [{"inline": [{"id": "a", "text": "alpha", "metadata": {"t": "x"}}]}]}
    )
    inline = docs.inline_documents(spec, "ns", "kb")
    assert inline[0]["id"] == "a" and inline[0]["sourceUri"] == "kb://ns/kb/a"
    mapped = docs.config_map_documents("ns", "cm", {"b.md": "beta"}, {"c.bin": "Z2FtbWE="})
    assert [d["id"] for d in mapped] == ["b.md", "c.bin"]
    settings = docs.index_settings(spec)
    base = docs.digest(inline + mapped, settings)
    assert docs.digest(list(reversed(inline + mapped)), settings) == base
    assert docs.digest(inline, settings) != base
    assert docs.digest(inline + mapped, {**settings, "chunkSize": 128}) != base
    retagged = [{**inline[0], "metadata": {"t": "y"}}, *mapped]
    assert docs.digest(retagged, settings) != base  # type: ignore[arg-type]
    assert docs.duplicate_ids(inline + inline) == ["a"]
