"""How close a result is to its painting and to its photo, and how much it hatches: `stylize eval`.

`style` and `content` are the judge's ratios (`losses.judge`): the Gram distance to the painting at
relu1_1..relu5_1 relative to the photo's own, and the relu4_2 distance to the photo relative to the
painting's. Lower is closer, so the photo itself scores style 1 and the painting content 1; neither
is a goal alone (the photo is perfect content, the painting perfect style). `style_layers` gives the
style ratio layer by layer: the sum is mostly relu4_1's, blind to colour and fine texture.

`hatching` measures periodic texture where the photo is flat (skies, walls): an undertrained
decoder paints the same evenly spaced strokes into every flat region, whatever the painting. The
high-passed spectra of the photo's flattest quarter of 32 px patches are averaged (a fixed pattern
adds up, irregular strokes and noise spread out), and the strongest frequency's amplitude above the
median one is given in grey levels (0..255). Photos score under 2 at 512 px; a visible lattice or
streaks 3 and more; a painting's own regular pattern (Mondrian's grid) scores high too.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import ops
from .devices import pick_device
from .errors import InputError
from .images import ImageSource, check_image, fit, load_image, resize
from .layers import JUDGE_SIZE
from .losses import Judge
from .models.vgg import load_vgg19


@dataclass(frozen=True)
class Score:
    result: str
    style: float  #: Gram distance to the painting relative to the photo's; lower is closer
    content: float  #: relu4_2 distance to the photo relative to the painting's; lower is closer
    hatching: float  #: grey levels of the strongest periodic texture in the photo's flat regions
    #: each style layer's Gram distance relative to the photo's there; `style` sums the distances,
    #: so the layer with the largest Gram entries (relu4_1) all but decides it
    style_layers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(photo: ImageSource, painting: ImageSource, results: list[str | os.PathLike] | str | os.PathLike, *,
             size: int = JUDGE_SIZE, device: str | torch.device = "auto") -> list[Score]:
    """Score each result against the photo it was made from and the painting it imitates, all at
    `size` px on the long side. Every file is checked before any work: a missing or unreadable one
    is an InputError naming it."""
    paths = [results] if isinstance(results, (str, os.PathLike)) else list(results)
    if not paths:
        raise InputError("give at least one result to score")
    for source in (photo, painting, *paths):
        if isinstance(source, (str, os.PathLike)):
            check_image(source)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    vgg = load_vgg19(dev)
    content = fit(load_image(photo).rgb, size).to(dev)
    style = fit(load_image(painting).rgb, size).to(dev)
    flat = flat_patches(content)
    try:
        judge = Judge(vgg, content, style)
    except InputError as error:
        raise InputError(f"{photo}, {painting}: {error}") from None
    scores = []
    for path in paths:
        out = as_judged(path, content, size)
        ratios = judge(out)
        scores.append(Score(str(Path(path)), ratios["style_ratio"], ratios["content_ratio"], hatching(out, flat),
                            ratios["style_layers"]))
    return scores


def as_judged(result: ImageSource, content: torch.Tensor, size: int) -> torch.Tensor:
    """A result as it is scored: at `size` px, then on the photo's shape and device, as the painting is."""
    return resize(fit(load_image(result).rgb, size).to(content.device), tuple(content.shape[-2:]))


def flat_patches(photo: torch.Tensor) -> torch.Tensor:
    """The photo's flattest patches (ops.flattest): where hatching shows."""
    return ops.flattest(ops.patches(photo.cpu()))[0]


def hatching(image: torch.Tensor, flat: torch.Tensor | None = None) -> float:
    """ops.periodicity of the `flat` patches (of `image` itself when None), in grey levels."""
    tiles = ops.patches(image.cpu())
    return 255 * float(ops.periodicity(tiles[:, flat if flat is not None else ops.flattest(tiles)[0]]))
