"""SANet: any painting in one pass, its patterns placed by attention (Park & Lee 2019).

Where adain moves the photo's channel statistics to the painting's, each relu4_1
and relu5_1 position of the photo here takes a mix of the painting's features at
the positions most like it (models/sanet.py), so a sky gets the painting's sky
strokes. The painting's attention keys are computed once per style in `prepare`;
several styles mix as a weighted sum of their attention results; `alpha` below 1
blends with the photo attending to itself (seen at the style size, so the cost
stays bounded), the paper's content-style trade-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..devices import autocast, resolve_precision, working
from ..errors import InputError
from ..images import fit
from ..models.sanet import StyleKeys, from_file
from ..models.vgg import load_network
from ..temporal import ShotHook
from ..tiles import working_picture
from . import ProgressCallback, mixing_weights, stages, strength
from .configs import SanetConfig

NETWORK = "sanet"  #: the manifest entry of the network shipped in the package
MULTIPLE = 16  #: relu5_1's stride: sides and tiles are multiples of it


@dataclass
class SanetPrepared:
    keys: list[StyleKeys]
    weights: list[float]


class Sanet:
    name = "sanet"
    batches = True
    default_max_size = None  #: any size: large pictures go in tiles
    feed_forward = True

    def __init__(self, config: SanetConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.model = load_network(device, NETWORK, config.decoder, from_file, "SANet file")
        self.precision = resolve_precision(config.precision, device, self.name)

    def _keys(self, image: torch.Tensor) -> StyleKeys:
        with torch.no_grad(), autocast(self.device, self.precision):
            return self.model.style_keys(working(fit(image.to(self.device), self.config.style_size), self.device))

    def prepare(self, styles: Sequence[torch.Tensor], weights: Sequence[float]) -> SanetPrepared:
        if any(not isinstance(s, torch.Tensor) for s in styles):
            raise InputError("sanet takes style images, not named styles or style files (those are cin's)")
        proportions, _ = mixing_weights(weights)
        return SanetPrepared([self._keys(s) for s in styles], proportions)

    def apply(self, content: torch.Tensor, prepared: SanetPrepared, progress: ProgressCallback | None = None, *,
              shot: ShotHook | None = None, alpha: float | None = None) -> torch.Tensor:
        alpha = strength(alpha, self.config.alpha)
        photo = fit(content.to(self.device), self.config.size)
        h, w = photo.shape[-2:]
        x, tile = working_picture(photo, MULTIPLE, self.config.tile)
        x = working(x, self.device)
        own = self._keys(photo) if alpha < 1 else None
        report = stages(progress)
        report("stylizing", 0, 1)
        with torch.no_grad(), autocast(self.device, self.precision):
            out = self.model.stylize(x, prepared.keys, prepared.weights, alpha, own, tile=tile,
                                     shot=shot, progress=report)
        report("stylizing", 1, 1)
        return out[..., :h, :w].float().clamp_(0, 1)


METHOD = Sanet
