"""AdaIN: any painting in one forward pass (Huang & Belongie 2017), with our own decoder.

The style is the channel mean/std of the painting's relu4_1 features, computed
once per style in `prepare`; `apply` is encode → AdaIN → decode. Several
styles mix as a weighted sum of their AdaIN targets (the paper's
interpolation); `alpha` blends the target with the photo's own features; a
mask puts the first style where it is white and the second where it is black.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..devices import autocast, resolve_precision, working
from ..errors import InputError
from ..images import fit, load_image
from ..models.adain import STRIDE, AdaIN, from_decoder_file
from ..models.vgg import load_network
from ..temporal import ShotHook
from ..tiles import working_picture
from . import ProgressCallback, mixing_weights, per_sample, stages, strength
from .configs import AdainConfig

DECODER = "adain-decoder"  #: the manifest entry of the decoder shipped in the package


@dataclass
class AdainPrepared:
    stats: list[tuple[torch.Tensor, torch.Tensor]]  #: relu4_1 mean/std per style
    weights: list[float]


def load_adain(device: torch.device, decoder: str | None = None) -> AdaIN:
    """The shipped decoder (sha256 checked) or a user's file, with the encoder; built once per process."""
    return load_network(device, DECODER, decoder, from_decoder_file, "AdaIN decoder")


class Adain:
    name = "adain"
    batches = True
    default_max_size = None  #: any size: large pictures go in tiles
    feed_forward = True

    def __init__(self, config: AdainConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.model = load_adain(device, config.decoder)
        self.precision = resolve_precision(config.precision, device, self.name)
        self.mask = None
        if config.mask is not None:
            rgb = load_image(config.mask).rgb
            self.mask = rgb.mean(dim=1, keepdim=True).to(device)

    def prepare(self, styles: Sequence[torch.Tensor], weights: Sequence[float]) -> AdainPrepared:
        if any(not isinstance(s, torch.Tensor) for s in styles):
            raise InputError("adain takes style images, not named styles or style files (those are cin's)")
        proportions, _ = mixing_weights(weights)
        with torch.no_grad(), autocast(self.device, self.precision):
            stats = [self.model.style_stats(working(fit(s.to(self.device), self.config.style_size), self.device))
                     for s in styles]
        return AdainPrepared(stats, proportions)  # fp32 whatever the precision: ops.mean_std

    def cache_key(self) -> str:
        """What a painting's prepared statistics depend on besides the painting (style_cache.py)."""
        return f"style_size={self.config.style_size} decoder={self.config.decoder or DECODER} {self.precision}"

    def pack(self, prepared: AdainPrepared) -> dict[str, torch.Tensor]:
        (mean, std), = prepared.stats
        return {"mean": mean.cpu(), "std": std.cpu()}

    def unpack(self, state: dict[str, torch.Tensor]) -> AdainPrepared:
        return AdainPrepared([(state["mean"].to(self.device), state["std"].to(self.device))], [1.0])

    def stack(self, prepared: Sequence[AdainPrepared]) -> AdainPrepared:
        """One painting per picture of a batch: AdaIN's target statistics are per sample anyway."""
        if any(len(p.stats) != 1 for p in prepared):
            raise InputError("only single paintings go one per picture; a mix of styles applies to the whole batch")
        return AdainPrepared([(torch.cat([p.stats[0][0] for p in prepared]),
                               torch.cat([p.stats[0][1] for p in prepared]))], [1.0])

    def apply(self, content: torch.Tensor, prepared: AdainPrepared, progress: ProgressCallback | None = None, *,
              shot: ShotHook | None = None, alpha: float | torch.Tensor | None = None) -> torch.Tensor:
        alpha = per_sample(strength(alpha, self.config.alpha), self.device)
        photo = fit(content.to(self.device), self.config.size)
        h, w = photo.shape[-2:]
        x, tile = working_picture(photo, STRIDE, self.config.tile)
        x = working(x, self.device)
        mask = None
        if self.mask is not None:
            _warn_if_stretched(self.config.mask, self.mask.shape[-2:], (h, w))
            mask = torch.nn.functional.interpolate(self.mask, size=(h, w), mode="bilinear")
            mask = torch.nn.functional.pad(mask, (0, x.shape[-1] - w, 0, x.shape[-2] - h),
                                           mode="replicate").expand(x.shape[0], -1, -1, -1)
        report = stages(progress)
        report("stylizing", 0, 1)
        with torch.no_grad(), autocast(self.device, self.precision):
            out = self.model.stylize(x, prepared.stats, prepared.weights, alpha, mask,
                                     tile=tile, shot=shot, progress=report)
        report("stylizing", 1, 1)
        return out[..., :h, :w].float().clamp_(0, 1)


def _warn_if_stretched(name: object, mask: tuple[int, ...], photo: tuple[int, ...]) -> None:
    """A mask of another shape than the photo is stretched onto it: say so, once per shape pair."""
    if abs(mask[0] / mask[1] - photo[0] / photo[1]) > 0.01 * photo[0] / photo[1] and (mask, photo) not in _stretched:
        _stretched.add((mask, photo))
        logging.getLogger(__name__).warning(
            "%s is %dx%d, a different shape from the photo (%dx%d): it is stretched to fit", name, mask[1], mask[0],
            photo[1], photo[0])


_stretched: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()  #: said once per process, not per photo


METHOD = Adain
