"""The method interface every style-transfer technique implements.

A method is built from its own frozen config dataclass (`configs.py`) and offers
two calls: `prepare(styles, weights)` does the per-run work on the style images
once (features, Gram targets, style vectors) and `apply(content, prepared)` turns
a content tensor into a stylized tensor. The Python API and batch conversion only
talk to this interface, so a `Prepared` is reused across many content images.

Importing this package does not import torch (the command line lists methods and
their options without it); a method's module is imported when it is created.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..errors import InputError, OptionError
from .configs import CONFIGS

if TYPE_CHECKING:
    import torch

    from ..temporal import ShotHook


@dataclass(frozen=True)
class ProgressEvent:
    """One step of an iterative method or trainer, for progress bars (the library never prints)."""

    stage: str  #: e.g. "512 px (2/2)"
    step: int
    steps: int
    losses: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]


class Method(Protocol):
    name: ClassVar[str]
    #: apply() takes N photos of one size at once (worth it on a GPU)
    batches: ClassVar[bool]
    #: Stylizer shrinks larger photos to this long side unless a size is asked for; None = no bound
    default_max_size: ClassVar[int | None]
    #: one pass per picture, so video can use it; such a method normalises with the statistics of
    #: `apply`'s `shot` (a `temporal.ShotStatistics`), averaged over a shot, instead of each picture's own
    feed_forward: ClassVar[bool]

    def prepare(self, styles: Sequence[Any], weights: Sequence[float]) -> Any:
        """The styles made ready. adain and cin also offer `stack(prepared)`: one prepared painting
        per picture of a batch, so a batch may mix paintings (a dataset's draws, an augmentation)."""

    def apply(self, content: torch.Tensor, prepared: Any, progress: ProgressCallback | None = None, *,
              shot: ShotHook | None = None, alpha: float | torch.Tensor | None = None) -> torch.Tensor:
        """Everything a call depends on comes in as an argument: a method (and the networks it
        shares with other methods in the process) keeps no state between calls. `alpha` replaces
        the config's strength for this call (a dataset's strength drawn per output), one per
        picture when it is a tensor."""


METHODS = tuple(CONFIGS)


def stages(progress: ProgressCallback | None) -> Callable[[str, int, int], None]:
    """A feed-forward method's events: (stage, step, steps) as ProgressEvents, or nothing. Every
    method reports, so a progress bar or a callback sees a one-pass method start and finish, and a
    tiled picture advance tile by tile."""
    def report(stage: str, step: int, steps: int) -> None:
        if progress is not None:
            progress(ProgressEvent(stage, step, steps))

    return report


def config_class(name: str) -> type:
    if name not in CONFIGS:
        raise InputError(f"unknown method '{name}': choose one of {', '.join(METHODS)}")
    return CONFIGS[name]


def accepts(name: str, option: str) -> bool:
    return option in {f.name for f in dataclasses.fields(config_class(name))}


def create(name: str, device: torch.device, **options: Any) -> Method:
    """Build a method from keyword options, refusing options it does not have."""
    module = importlib.import_module(f"{__name__}.{name}")
    return module.METHOD(configure(name, **options), device)  # type: ignore[no-any-return]


def configure(name: str, **options: Any) -> Any:
    """The method's config from keyword options; refuses options it does not have and values out of
    bounds, before any model is loaded."""
    cls = config_class(name)
    unknown = sorted(o for o in options if not accepts(name, o))
    if unknown:
        known = ", ".join(sorted(f.name for f in dataclasses.fields(cls)))
        owners = [m for m in METHODS if m != name and all(accepts(m, o) for o in unknown)]
        hint = f" (it is {' and '.join(owners)}'s: use method {' or '.join(owners)})" if owners else ""
        raise OptionError(unknown[0], f"is not an option of {name}{hint}; {name} takes {known}")
    return cls(**options)


def strength(alpha: float | torch.Tensor | None, configured: float) -> float | torch.Tensor:
    """A call's alpha, or the config's; bounded like it. A 1-D tensor gives each picture of the batch
    its own strength (a dataset's or an augmentation's, drawn per output)."""
    if alpha is None:
        return configured
    low, high = (float(alpha.min()), float(alpha.max())) if not isinstance(alpha, (int, float)) else (alpha, alpha)
    if not 0 <= low <= high <= 1:
        raise OptionError("alpha", f"must be between 0 and 1, got {low if low < 0 else high:g}")
    return alpha


def per_sample(alpha: float | torch.Tensor, device: torch.device, dims: int = 4) -> float | torch.Tensor:
    """A strength per picture on `device`, shaped to broadcast over an N x ... tensor of `dims` dimensions."""
    return alpha if isinstance(alpha, (int, float)) else alpha.to(device).reshape(-1, *[1] * (dims - 1))


def mixing_weights(weights: Sequence[float]) -> tuple[list[float], float]:
    """Style weights as proportions summing to 1, and their original sum."""
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise OptionError("style_weights", "must be non-negative with a positive sum")
    return [w / total for w in weights], total
