"""Which LoRA adapters a generator loads and unloads when its `user_config` changes.

Pure: `plan_adapters` compares what is loaded with what is asked for and says what to do, and
why an adapter is refused. The generator deployment carries the plan out on its engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ragtune_serving.config import AdapterArgs


@dataclass(frozen=True, slots=True)
class AdapterPlan:
    """Unload first (removed or changed adapters), then load (added or changed ones)."""

    unload: tuple[str, ...] = ()
    load: tuple[tuple[str, AdapterArgs], ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # (name, reason): asked for, not loadable here


def plan_adapters(
    loaded: Mapping[str, AdapterArgs], wanted: Mapping[str, AdapterArgs], base_model: str
) -> AdapterPlan:
    """What turns `loaded` into `wanted` on a generator serving `base_model`.

    An adapter whose settings changed is unloaded and loaded again; one made for another base
    model is refused (and unloaded, if an older version of it was loaded).
    """
    unload = [name for name, args in loaded.items() if wanted.get(name) != args]
    load: list[tuple[str, AdapterArgs]] = []
    refused: list[tuple[str, str]] = []
    for name, args in sorted(wanted.items()):
        if loaded.get(name) == args:
            continue
        if args.base_model != base_model:
            refused.append(
                (
                    name,
                    f"adapter {name!r} was made for base model {args.base_model!r}, but this "
                    f"generator serves {base_model!r}; train it on {base_model!r} or serve it "
                    "with a generator of its base model",
                )
            )
            continue
        load.append((name, args))
    return AdapterPlan(unload=tuple(sorted(unload)), load=tuple(load), refused=tuple(refused))
