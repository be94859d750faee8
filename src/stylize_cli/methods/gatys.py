"""Gatys et al. (2016) optimization: pixels fitted to VGG content and Gram style.

Coarse to fine: the image is first optimized at `start_size`, then upsampled
and refined at twice the size until `size` is reached, with half the
iterations at each finer scale. The large-scale structure is settled where it
is cheap, so a 1024 px result costs a fraction of optimizing at 1024 px from
the start and has style features at a sensible scale.

Each scale runs until its loss settles (`tolerance`: the relative fall over CONVERGENCE_WINDOW
steps), with `iterations` as a cap, so a picture that converges quickly stops and one that does
not gets the steps it needs.

Deviates from the paper: losses are relative (see `losses.py`) so the weights
need no per-layer hand tuning on the raw Caffe VGG-19; style images are scaled
with the content at every scale, like Gatys et al.'s own multi-scale follow-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .. import ops
from ..errors import InputError, Interrupted, OptionError, StylizeError
from ..images import fit, resize
from ..losses import ContentLoss, GramLoss, tv_loss
from ..models.vgg import load_vgg19
from ..temporal import ShotHook
from . import ProgressCallback, ProgressEvent, mixing_weights
from .configs import CONVERGENCE_WINDOW, GatysConfig


@dataclass
class GatysPrepared:
    styles: list[torch.Tensor]
    weights: list[float]  #: per style, normalised to sum 1
    strength: float  #: style_weight × the sum of the per-style weights
    grams: dict[int, list[torch.Tensor]] = field(default_factory=dict)  #: per content scale


class Gatys:
    name = "gatys"
    batches = False  #: one optimisation per photo
    default_max_size = None  #: `size` is the working size
    feed_forward = False

    def __init__(self, config: GatysConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        if config.loss_net == "vgg19":
            self.net: torch.nn.Module = load_vgg19(device, config.pooling)
        else:
            from ..models.mobilenet import load_mobilenet

            self.net = load_mobilenet(device)

    def _features(self, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """The loss network's features, softmax-smoothed when SWAG is on (content and style alike,
        as the paper does; not the picture itself, MobileNet's "rgb", which is no activation)."""
        feats = self.net(image, layers)
        if not self.config.swag:
            return feats
        return {k: v if k == "rgb" else ops.swag(v) for k, v in feats.items()}

    def prepare(self, styles: Sequence[torch.Tensor], weights: Sequence[float]) -> GatysPrepared:
        proportions, total = mixing_weights(weights)
        for style in styles:
            if not isinstance(style, torch.Tensor):
                raise InputError(f"style '{style.name}' is a CIN style vector, not an image; "
                                 "use it with method cin")
        styles = [s.to(self.device) for s in styles]
        return GatysPrepared(styles, proportions, self.config.style_weight * total)

    def _style_side(self, size: int) -> int:
        """The styles' long side at a content scale: `style_size` at the final one (the photo's
        `size`), shrunk with the photo at the coarser ones, so strokes keep their size relative to it."""
        if self.config.style_size is None:
            return size
        return max(16, round(self.config.style_size * size / self.config.size))

    def _style_grams(self, prepared: GatysPrepared, size: int) -> list[torch.Tensor]:
        """Blended Gram targets for the style images scaled to this content scale."""
        if size not in prepared.grams:
            blended = [torch.zeros(()) for _ in self.config.style_layers]
            for style, w in zip(prepared.styles, prepared.weights, strict=True):
                feats = self._features(fit(style, self._style_side(size)), self.config.style_layers)
                for i, layer in enumerate(self.config.style_layers):
                    blended[i] = blended[i] + w * ops.gram(feats[layer])
            prepared.grams[size] = blended
        return prepared.grams[size]

    def apply(self, content: torch.Tensor, prepared: GatysPrepared, progress: ProgressCallback | None = None, *,
              shot: ShotHook | None = None, alpha: float | None = None) -> torch.Tensor:
        """`shot` is not used: an optimisation has no normalisation to share across video frames."""
        if alpha is not None:
            raise OptionError("alpha", "is not an option of gatys (its style weight sets the strength)")
        cfg = self.config
        content = content.to(self.device)
        scales = cfg.scales()
        image: torch.Tensor | None = None
        final_hw = tuple(fit(content, cfg.size).shape[-2:])
        try:
            for index, (size, steps) in enumerate(scales, start=1):
                target = fit(content, size)
                if image is None:
                    image = self._initial(target, prepared)
                else:
                    image = resize(image, tuple(target.shape[-2:]))
                stage = f"{target.shape[-1]}x{target.shape[-2]} ({index}/{len(scales)})"
                image = self._optimize(image, target, self._style_grams(prepared, size),
                                       prepared.strength, steps, stage, progress)
        except Interrupted as stop:  # hand back the partial result at the size asked for
            raise Interrupted(resize(stop.image, final_hw)) from None
        assert image is not None
        return image

    def _initial(self, content: torch.Tensor, prepared: GatysPrepared) -> torch.Tensor:
        if self.config.init == "content":
            return content.clone()
        if self.config.init == "palette":  # the heaviest-weighted painting's colours
            heaviest = max(range(len(prepared.styles)), key=prepared.weights.__getitem__)
            return ops.match_color(content, prepared.styles[heaviest])
        gen = torch.Generator().manual_seed(self.config.seed or 0)
        return torch.rand(content.shape, generator=gen).to(content)

    def _optimize(self, image: torch.Tensor, content: torch.Tensor, grams: list[torch.Tensor],
                  strength: float, steps: int, stage: str,
                  progress: ProgressCallback | None) -> torch.Tensor:
        cfg = self.config
        layers = (*cfg.style_layers, cfg.content_layer)
        content_loss = ContentLoss(self._features(content, [cfg.content_layer])[cfg.content_layer])
        style_losses = [GramLoss(g) for g in grams]
        x = image.detach().clone().requires_grad_(True)
        if cfg.optimizer == "lbfgs":
            opt: torch.optim.Optimizer = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=50)
        else:
            opt = torch.optim.Adam([x], lr=cfg.learning_rate or 0.02)
        last: dict[str, float] = {}

        def closure() -> torch.Tensor:
            opt.zero_grad()
            feats = self._features(x, layers)
            lc = content_loss(feats[cfg.content_layer])
            ls = sum(loss(feats[k]) for loss, k in zip(style_losses, cfg.style_layers, strict=True))
            ls = ls / len(style_losses)
            ltv = tv_loss(x)
            total = cfg.content_weight * lc + strength * ls + cfg.tv_weight * ltv
            total.backward()
            last.update(content=lc.item(), style=ls.item(), tv=ltv.item(), total=total.item())
            return total

        totals: list[float] = []
        try:
            for step in range(1, steps + 1):
                opt.step(closure)
                totals.append(last["total"])
                if cfg.optimizer == "adam":
                    with torch.no_grad():
                        x.clamp_(0, 1)
                if not torch.isfinite(x).all():
                    raise StylizeError(f"gatys diverged at {stage}, step {step} (the picture became NaN); "
                                       + ("try without swag" if cfg.swag else "try a lower style weight"))
                settled = converged(totals, cfg.tolerance or 0.0)
                if progress:  # a settled scale ends its bar: the last step is the last one
                    progress(ProgressEvent(stage, step, step if settled else steps, dict(last)))
                if settled:
                    break
        except KeyboardInterrupt:
            raise Interrupted(x.detach().clamp(0, 1)) from None
        return x.detach().clamp(0, 1)


def converged(totals: Sequence[float], tolerance: float, window: int = CONVERGENCE_WINDOW) -> bool:
    """Whether the loss fell by less than `tolerance` (a fraction) over the last `window` steps:
    L-BFGS then refines what no longer shows, and a fixed count stops some pictures early and
    spends steps on others (bench/validate.py)."""
    if tolerance <= 0 or len(totals) <= window:
        return False
    before, now = totals[-window - 1], totals[-1]
    return before - now < tolerance * abs(before)


METHOD = Gatys
