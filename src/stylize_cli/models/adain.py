"""AdaIN's networks (Huang & Belongie 2017): a frozen VGG-19 encoder to relu4_1, a trained decoder.

The encoder is our VGG-19 cut at relu4_1 with reflection padding instead of
zeros (with zeros the decoder learns to paint a dark frame that undoes the
padding's edge). It can also be normalised, as Gatys et al. normalised theirs:
each conv rescaled so its relu channels average 1 over the training photos
(ReLU commutes with a positive scale, so the next conv compensates exactly and
the features are the raw ones divided per channel by their mean). The paper's
style weight assumes that scale, but on our raw Caffe weights (relu1_1 means
~20, relu4_1 ~500) the raw encoder trained better under the judge, whose Gram
losses are likewise dominated by the deep layers; see train/decoder.py. The
decoder file records which encoder it was trained for (empty means = raw).

The decoder mirrors the encoder with nearest upsampling and reflection padding
(no transposed convolutions, so no checkerboard).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from .. import ops, tiles
from ..layers import ADAIN_LAYER, ADAIN_STYLE_LAYERS, LAYERS
from ..temporal import ShotHook
from .vgg import VGG19

DECODER_FORMAT = "stylize-adain-decoder/1"  #: a decoder file: what --decoder and the package take


class Encoder(nn.Module):
    """VGG-19 to relu4_1 (or `last`), normalised and reflection padded (see the module docstring)."""

    def __init__(self, vgg: VGG19, channel_means: dict[str, torch.Tensor] | None = None,
                 last: str = ADAIN_LAYER) -> None:
        super().__init__()
        layers = OrderedDict((name, _copy(module)) for name, module in
                             list(vgg.layers.named_children())[: LAYERS.index(last) + 1])
        self.layers = nn.Sequential(layers)
        self.register_buffer("mean", vgg.mean.clone(), persistent=False)
        self.channel_means = {k: v.clone() for k, v in (channel_means or {}).items()}
        if channel_means:
            _normalise(self.layers, channel_means)
        self.requires_grad_(False).eval()

    def forward(self, image: torch.Tensor, layers: Iterable[str] = ADAIN_STYLE_LAYERS,
                start: str | None = None) -> dict[str, torch.Tensor]:
        """The features at `layers`; with `start`, `image` is that layer's output and only the rest
        of the network runs (so deep layers can be computed from kept shallower ones, in tiles)."""
        wanted = set(layers)
        x = image if start else image.flip(1) * 255.0 - self.mean
        out: dict[str, torch.Tensor] = {}
        skipping = start is not None
        for name, module in self.layers.named_children():
            if skipping:
                skipping = name != start
                continue
            x = module(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return out


def _copy(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.Conv2d):
        conv = nn.Conv2d(module.in_channels, module.out_channels, 3, padding=1, padding_mode="reflect")
        conv.load_state_dict(module.state_dict())
        return conv
    return module


@torch.no_grad()
def channel_means(encoder: Encoder, images: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Mean activation of every relu channel over `images`: the normalisation of the encoder.

    Dead channels (mean ~0) keep scale 1, so no division blows up.
    """
    relus = [n for n in encoder.layers._modules if n.startswith("relu")]
    sums: dict[str, torch.Tensor] = {}
    count = 0
    for image in images:
        feats = encoder(image, relus)
        for name in relus:
            sums[name] = sums.get(name, 0) + feats[name].mean(dim=(0, 2, 3)).cpu()
        count += 1
    means = {name: s / count for name, s in sums.items()}
    return {name: torch.where(m > 1e-3, m, torch.ones_like(m)) for name, m in means.items()}


def _normalise(layers: nn.Sequential, means: dict[str, torch.Tensor]) -> None:
    """Rescale each conv so its relu output is divided by that channel's mean."""
    previous = None
    for name, module in layers.named_children():
        if not isinstance(module, nn.Conv2d):
            continue
        scale = means[name.replace("conv", "relu")].to(module.weight)
        weight = module.weight / scale.view(-1, 1, 1, 1)
        if previous is not None:
            weight = weight * previous.view(1, -1, 1, 1)
        module.weight.data.copy_(weight)
        module.bias.data.copy_(module.bias / scale)
        previous = scale


def _block(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)] + ([nn.ReLU()] if relu else [])


class Decoder(nn.Module):
    """relu4_1 features (512 channels, 1/8 size) → RGB in 0..1 (unclamped while training)."""

    #: (name, in, out, upsample after) mirroring VGG-19's conv4_1 back to conv1_1
    PLAN = (("conv4_1", 512, 256, True),
            ("conv3_4", 256, 256, False), ("conv3_3", 256, 256, False), ("conv3_2", 256, 256, False),
            ("conv3_1", 256, 128, True),
            ("conv2_2", 128, 128, False), ("conv2_1", 128, 64, True),
            ("conv1_2", 64, 64, False), ("conv1_1", 64, 3, False))

    def __init__(self) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, cin, cout, up in self.PLAN:
            layers[name] = nn.Sequential(*_block(cin, cout, relu=name != "conv1_1"))
            if up:
                layers[f"up{name[4]}"] = nn.Upsample(scale_factor=2, mode="nearest")
        self.layers = nn.Sequential(layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


#: Tiles are multiples of the encoder's stride, and each is stylized with a margin wider than the
#: receptive radius of the encoder (34 px at relu4_1) and of the decoder (4 features, 32 px), so a
#: tile's core is what one pass over the whole picture gives: no seams, no blending.
STRIDE, HALO = 8, 64


class AdaIN(nn.Module):
    """Encoder + AdaIN + decoder; `stylize` is the whole paper in one call."""

    def __init__(self, encoder: Encoder, decoder: Decoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image, [ADAIN_LAYER])[ADAIN_LAYER]

    def style_stats(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return ops.mean_std(self.encode(style))

    def stylize(self, content: torch.Tensor, stats: list[tuple[torch.Tensor, torch.Tensor]],
                weights: list[float], alpha: float | torch.Tensor = 1.0, mask: torch.Tensor | None = None,
                tile: int | None = None, shot: ShotHook | None = None,
                progress: tiles.TileProgress | None = None) -> torch.Tensor:
        """Decode the AdaIN target; several styles mix as a weighted sum of their targets.

        With a mask (1 = first style, 0 = second; Huang & Belongie §7.2 "spatial
        control") each region is normalised with its own statistics. With `tile` (a
        multiple of STRIDE; sides of `content` too) the networks run tile by tile and only
        the 1/8-scale features of the whole picture are kept: AdaIN still takes the whole
        picture's statistics, so tiles share their colours, and the result is the untiled one.
        `shot` replaces a batch of video frames' statistics with the shot's.
        """
        everything = slice(None)
        if tile:
            f = tiles.halo_tiled(lambda rows, cols: self.encode(content[..., rows, cols]), content.shape[-2:], tile,
                                 STRIDE, HALO, progress, "encoding tiles")
        else:
            f = self.encode(content)

        def own(key: str, statistics: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
            """The content's statistics: this picture's, or its shot's."""
            mean, std = shot(key, statistics) if shot else statistics
            return mean, std

        regions: list[tuple[torch.Tensor | None, ops.Affine]]
        if mask is None:
            regions = [(None, ops.adain_affine(own("all", ops.mean_std(f)), stats, weights, alpha))]
        else:
            regions = list(ops.masked_affines(f, ops.resize_mask(mask, f.shape[-2:]), stats[0], stats[1], alpha,
                                              own))

        def decode(rows: slice = everything, cols: slice = everything) -> torch.Tensor:
            part = f[..., rows, cols]
            return self.decoder(sum((part * scale + shift) * (1 if r is None else r[..., rows, cols])
                                    for r, (scale, shift) in regions))

        if not tile:
            return decode()
        return tiles.halo_tiled(decode, f.shape[-2:], tile // STRIDE, 1 / STRIDE, HALO // STRIDE, progress,
                                "painting tiles")


def from_decoder_file(state: Any, vgg: VGG19) -> AdaIN:
    if not isinstance(state, dict) or state.get("format") != DECODER_FORMAT:
        raise ValueError(f"not a {DECODER_FORMAT} file")
    decoder = Decoder()
    decoder.load_state_dict({k: v.float() for k, v in state["decoder"].items()})
    return AdaIN(Encoder(vgg, state["channel_means"]), decoder.eval().requires_grad_(False))
