"""CIN: Magenta's arbitrary-style network, one forward pass per image.

A style is a 100-d vector: predicted from a painting by `StylePredictor`, or
read from a style file (built-in, the user's own, or learned by train-style).
Several styles mix as a convex combination of their vectors; `alpha` < 1 mixes
in the photo's own predicted vector, which weakens the style (as Magenta does).
A network style (train-style --network) used alone at full strength runs its
own network instead; mixed or weakened, it takes part as its vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..devices import autocast, network_on, resolve_precision, working
from ..errors import InputError
from ..images import fit
from ..models.magenta import Normalizer, TransferNet, load_predictor, load_transfer
from ..models.style_network import StyleNetwork
from ..styles import NETWORK, Style
from ..temporal import ShotHook
from ..tiles import TileProgress, tiled
from . import ProgressCallback, mixing_weights, per_sample, stages, strength
from .configs import AUTO_TILE_PIXELS, CIN_TILE, CinConfig

#: Tiled runs take the norm statistics from the picture at up to this size: smaller sizes drift
#: from the untiled result (bench/README.md, 'Figures behind defaults').
STATS_SIZE = 2048


@dataclass
class CinPrepared:
    vector: torch.Tensor  #: 1x100, the mixed style
    network: StyleNetwork | None = None  #: a network style's own network, used instead of the vector


class Cin:
    name = "cin"
    batches = True
    default_max_size = None  #: --tile bounds the memory instead
    feed_forward = True

    def __init__(self, config: CinConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.transfer = load_transfer(device)
        self.precision = resolve_precision(config.precision, device, self.name)
        self._predictor: torch.nn.Module | None = None

    def predict(self, image: torch.Tensor, size: int | None = None) -> torch.Tensor:
        """The style vector of an image: shorter side to `size` (style_size), centre crop, predictor."""
        if self._predictor is None:
            self._predictor = load_predictor(self.device)
        size = size or self.config.style_size
        h, w = image.shape[-2:]
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        x = F.interpolate(image.to(self.device), size=(nh, nw), mode="bilinear", align_corners=False,
                          antialias=True)
        top, left = (nh - size) // 2, (nw - size) // 2
        with torch.no_grad():  # fp32: in bf16 the vector moves enough to change the colours visibly
            return self._predictor(working(x[..., top:top + size, left:left + size], self.device))

    def prepare(self, styles: Sequence[torch.Tensor | Style], weights: Sequence[float]) -> CinPrepared:
        proportions, _ = mixing_weights(weights)
        vectors = []
        for style in styles:
            if isinstance(style, Style):
                if style.network != NETWORK:
                    raise InputError(f"style '{style.name}' was made for the network '{style.network}', "
                                     f"not '{NETWORK}'")
                vectors.append(style.tensor().to(self.device))
            else:
                vectors.append(self.predict(style))
        mixed = sum(v * w for v, w in zip(vectors, proportions, strict=True))
        alone = styles[0] if len(styles) == 1 and self.config.alpha == 1.0 else None
        if isinstance(alone, Style) and alone.weights:
            return CinPrepared(mixed, network_on(alone.network_weights(), self.device))  # type: ignore[arg-type]
        return CinPrepared(mixed)  # type: ignore[arg-type]

    def stack(self, prepared: Sequence[CinPrepared]) -> CinPrepared:
        """One style per picture of a batch: the norm layers' gamma and beta are per sample anyway."""
        if any(p.network is not None for p in prepared):
            raise InputError("a network style runs its own network: it cannot share a batch with other styles")
        return CinPrepared(torch.cat([p.vector for p in prepared]))

    def cache_key(self) -> str:
        """What a painting's predicted vector depends on besides the painting (style_cache.py)."""
        return f"style_size={self.config.style_size}"

    def pack(self, prepared: CinPrepared) -> dict[str, torch.Tensor]:
        return {"vector": prepared.vector.cpu()}

    def unpack(self, state: dict[str, torch.Tensor]) -> CinPrepared:
        return CinPrepared(state["vector"].to(self.device))

    def apply(self, content: torch.Tensor, prepared: CinPrepared, progress: ProgressCallback | None = None, *,
              shot: ShotHook | None = None, alpha: float | torch.Tensor | None = None) -> torch.Tensor:
        alpha = per_sample(strength(alpha, self.config.alpha), self.device, dims=2)
        x = working(fit(content.to(self.device), self.config.size), self.device)
        vector = prepared.vector
        if bool((torch.as_tensor(alpha) < 1.0).any()):
            # below full strength: the photo's own vector mixed in (a network style runs as its vector)
            vector = alpha * vector + (1 - alpha) * self.predict(x)
            prepared = CinPrepared(prepared.vector)
        transfer = prepared.network.net if prepared.network else self.transfer
        over_shot = None if shot is None else lambda layer, stats: shot(f"norm{layer}", stats)
        report = stages(progress)
        report("stylizing", 0, 1)
        with torch.no_grad(), autocast(self.device, self.precision):
            out = self._transfer(x, transfer, vector, prepared, over_shot, report)
        report("stylizing", 1, 1)
        return out

    def _transfer(self, x: torch.Tensor, transfer: TransferNet, vector: torch.Tensor, prepared: CinPrepared,
                  over_shot: Normalizer | None, report: TileProgress) -> torch.Tensor:
        """One pass, or tiles sharing the whole picture's normalisation statistics."""
        params = prepared.network.params() if prepared.network else transfer.norm_params(vector)
        h, w = x.shape[-2:]
        tile = self.config.tile or (CIN_TILE if h * w > AUTO_TILE_PIXELS else None)
        if tile is None or max(h, w) <= tile:
            return transfer(x, params, over_shot).float()
        # Instance norm sees the whole picture; tiles must share its statistics or each
        # tile gets its own colours. They depend on scale, so take them from the picture
        # at up to STATS_SIZE px (exact up to there; a fixed memory cost beyond).
        stats_size = min(max(x.shape[-2:]), max(tile, STATS_SIZE))
        stats = transfer.statistics(fit(x, stats_size), params, over_shot)
        return tiled(lambda t: transfer(t, params, lambda layer, _own: stats[layer]).float(), x, tile,
                     overlap=tile // 8, progress=report)


METHOD = Cin
