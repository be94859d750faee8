"""The method interface every style-transfer technique implements.

A method is built from its own frozen config dataclass and offers two calls:
`prepare(styles, weights)` does the per-run work on the style images once
(features, Gram targets, style vectors) and `apply(content, prepared)` turns a
content tensor into a stylized tensor. The Python API and batch conversion only
talk to this interface, so a `Prepared` is reused across many content images.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import torch

from ..errors import InputError


@dataclass(frozen=True)
class ProgressEvent:
    """One step of an iterative method, for progress bars (the library never prints)."""

    stage: str  #: e.g. "512 px (2/2)"
    step: int
    steps: int
    losses: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]


class Method(Protocol):
    name: str

    def prepare(self, styles: Sequence[torch.Tensor], weights: Sequence[float]) -> Any: ...

    def apply(self, content: torch.Tensor, prepared: Any,
              progress: ProgressCallback | None = None) -> torch.Tensor: ...


#: name -> (module, config class, method class); modules are imported on first use.
_REGISTRY = {"gatys": ("gatys", "GatysConfig", "Gatys"), "cin": ("cin", "CinConfig", "Cin"),
             "adain": ("adain", "AdainConfig", "Adain")}
METHODS = tuple(_REGISTRY)


def _load(name: str, index: int) -> type:
    import importlib

    if name not in _REGISTRY:
        raise InputError(f"unknown method '{name}': choose one of {', '.join(METHODS)}")
    module, *classes = _REGISTRY[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), classes[index])


def config_class(name: str) -> type:
    return _load(name, 0)


def accepts(name: str, option: str) -> bool:
    return option in {f.name for f in dataclasses.fields(config_class(name))}


def create(name: str, device: torch.device, **options: Any) -> Method:
    """Build a method from keyword options, refusing options it does not have."""
    cls = config_class(name)
    unknown = sorted(o for o in options if not accepts(name, o))
    if unknown:
        known = ", ".join(sorted(f.name for f in dataclasses.fields(cls)))
        owners = [m for m in METHODS if m != name and all(accepts(m, o) for o in unknown)]
        hint = f" (it is {' and '.join(owners)}'s: use --method {' or '.join(owners)})" if owners else ""
        raise InputError(f"method '{name}' has no option {', '.join(unknown)}{hint}; it takes {known}")
    return _load(name, 1)(cls(**options), device)


def mixing_weights(weights: Sequence[float]) -> tuple[list[float], float]:
    """Style weights as proportions summing to 1, and their original sum."""
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise InputError("style weights must be non-negative with a positive sum")
    return [w / total for w in weights], total
