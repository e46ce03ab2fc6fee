"""PEFT LoRA adapters attached to a loaded transformers model, which keeps generating as before.

PEFT's functional API (the one made for libraries that keep their own model object) injects an
adapter's layers into the model in place and loads its weights. Every adapter layer is then
switched off, so forward passes stay those of the base model, bit for bit, until `activate`
selects one adapter for the generations that name it. Callers hold the engine's lock around
these: exclusive to attach or detach, under the adapter's key to activate.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Any

ADAPTER_CONFIG = "adapter_config.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


class AdapterLoadError(ValueError):
    """An adapter directory that cannot be loaded onto this model; the message says why."""


def slot_name(name: str) -> str:
    """The name PEFT keeps adapter `name` under.

    PEFT stores adapters in `nn.ModuleDict`s, whose keys may not contain '.', while adapter
    names are Kubernetes names (dots allowed): keep the readable part, add a hash of the name.
    """
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', name)[:48]}_{digest}"


def attach(model: Any, slot: str, path: str) -> None:
    """Load the LoRA adapter saved in directory `path` into `model` as `slot`, switched off.

    Raises AdapterLoadError (the model left as it was) if `path` holds no LoRA adapter, or
    one whose layers or shapes do not fit this model.
    """
    from peft import PeftConfig, PeftType
    from peft.functional import inject_adapter_in_model, set_peft_model_state_dict
    from peft.utils import load_peft_weights

    directory = Path(path)
    if not (directory / ADAPTER_CONFIG).is_file():
        raise AdapterLoadError(
            f"{path} holds no PEFT adapter ({ADAPTER_CONFIG} is missing); point the adapter at "
            "the directory `save_pretrained` wrote"
        )
    config = PeftConfig.from_pretrained(str(directory))
    if config.peft_type != PeftType.LORA:
        raise AdapterLoadError(f"{path} holds a {config.peft_type} adapter; only LoRA is served")
    config.inference_mode = True
    try:
        with warnings.catch_warnings():
            # PEFT warns that a second adapter joins the first: holding many is the point.
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")
            inject_adapter_in_model(config, model, adapter_name=slot)
        weights = load_peft_weights(str(directory), device=str(model.device))
        loaded: Any = set_peft_model_state_dict(model, weights, adapter_name=slot)
        missing = [key for key in loaded.missing_keys if f".{slot}." in key]
        if loaded.unexpected_keys or missing:
            raise AdapterLoadError(
                f"{path} does not fit this model: {len(loaded.unexpected_keys)} weights have no "
                f"layer here (e.g. {loaded.unexpected_keys[:1]}), {len(missing)} adapter layers "
                f"got no weights (e.g. {missing[:1]}); was it trained on another model?"
            )
    except AdapterLoadError:
        detach(model, slot)
        raise
    except Exception as error:
        detach(model, slot)
        raise AdapterLoadError(f"cannot load the adapter in {path}: {error}") from error
    finally:
        switch_off(model)


def detach(model: Any, slot: str) -> None:
    """Remove adapter `slot` from `model`; nothing happens if it is not there."""
    from peft.functional import delete_adapter

    configs = getattr(model, "peft_config", None) or {}
    if slot not in configs:
        return
    prefix = f"{configs[slot].peft_type.value.lower()}_"
    delete_adapter(model, adapter_name=slot, prefix=prefix)
    configs.pop(slot, None)


def switch_off(model: Any) -> None:
    """Switch every adapter layer off: forward passes are the base model's."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            module.enable_adapters(False)


def activate(model: Any, slot: str | None) -> None:
    """Make every adapter layer apply adapter `slot` alone; None switches them all off."""
    if slot is None:
        switch_off(model)
        return
    from peft.functional import set_adapter
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            module.enable_adapters(True)
    set_adapter(model, slot, inference_mode=True)  # after enabling: it freezes the weights
