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


METHODS = ("gatys", "cin")


def config_class(name: str) -> type:
    if name == "gatys":
        from .gatys import GatysConfig
        return GatysConfig
    if name == "cin":
        from .cin import CinConfig
        return CinConfig
    raise InputError(f"unknown method '{name}': choose one of {', '.join(METHODS)}")


def accepts(name: str, option: str) -> bool:
    return option in {f.name for f in dataclasses.fields(config_class(name))}


def create(name: str, device: torch.device, **options: Any) -> Method:
    """Build a method from keyword options, refusing options it does not have."""
    cls = config_class(name)
    unknown = sorted(o for o in options if not accepts(name, o))
    if unknown:
        known = ", ".join(sorted(f.name for f in dataclasses.fields(cls)))
        raise InputError(f"method '{name}' has no option {', '.join(unknown)}; it takes {known}")
    config = cls(**options)
    if name == "gatys":
        from .gatys import Gatys
        return Gatys(config, device)
    from .cin import Cin
    return Cin(config, device)
