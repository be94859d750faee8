"""SANet (Park & Lee 2019): AdaIN's encoder and decoder with style attention between them.

AdaIN gives every content position the same channel statistics, so a painting's
local patterns land anywhere. Here each content position, at relu4_1 and at
relu5_1, takes a weighted mix of the style's features: the weights are a softmax
over the similarity of the two (both mean-variance normalised, through 1x1
convolutions f and g), the mix is of h(style), then a 1x1 convolution is added
to the content. relu5_1's result is upsampled onto relu4_1's grid and added, a
3x3 convolution merges them, and a decoder of adain's architecture paints the
result, so training can start from the shipped adain decoder: the attention's
output convolutions start at zero and the merge at the identity, so the untrained
network already draws (nearly) the photo.

Attention over a large picture: the scores form a (content positions) x (style
positions) matrix, 16,384 x 4,096 at relu4_1 for a 1024 px photo and a 512 px
painting (256 MB in fp32), growing with the photo's area. `Attention` takes the
content positions in chunks of at most SCORES scores; each position's result
depends only on its own row, so chunks give exactly the unchunked result, and
memory grows only with the (1/8 scale) feature map. With `tile` the encoder and
the decoder also run tile by tile, as adain's do.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import ops, tiles
from ..layers import ADAIN_LAYER
from ..temporal import ShotHook
from .adain import HALO, STRIDE, Decoder, Encoder
from .vgg import VGG19

SANET_FORMAT = "stylize-sanet/1"  #: a SANet file: transform + decoder, what --decoder and the package take
DEEP_LAYER = "relu5_1"
SCORES = 1 << 22  #: at most this many attention scores at once, over the whole batch (16 MB in fp32)
#: relu5_1 from kept relu4_1 features in tiles: conv4_2..4_4, a pool and conv5_1 see 6 features
#: around each output; 8 keeps tiles on the pooling grid
DEEP_HALO = 8
Keys = tuple[torch.Tensor, torch.Tensor]  #: what one style offers one attention module: g(mvn(s)), h(s)
StyleKeys = tuple[Keys, Keys]  #: at relu4_1 and relu5_1


def mvn(x: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    mean, std = stats or ops.mean_std(x)
    return (x - mean) / std


class Attention(nn.Module):
    """One style-attention module (SANet's eq. 2-3), residual."""

    def __init__(self, channels: int = 512) -> None:
        super().__init__()
        self.f, self.g, self.h, self.out = (nn.Conv2d(channels, channels, 1) for _ in range(4))
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def keys(self, style: torch.Tensor) -> Keys:
        return self.g(mvn(style)).flatten(2), self.h(style).flatten(2)

    def forward(self, content: torch.Tensor, keys: Keys, chunk: int | None = SCORES,
                stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """`stats`: the content's mean/std to normalise with (a video shot's), else its own."""
        g, h = keys
        query = self.f(mvn(content, stats)).flatten(2).transpose(1, 2)  # N x positions x C
        # every picture of the batch holds rows x style positions scores at once
        rows = query.shape[1] if chunk is None else max(1, chunk // (g.shape[-1] * query.shape[0]))
        mixed = torch.cat([h @ _weights(part @ g).transpose(1, 2) for part in query.split(rows, dim=1)], dim=2)
        return content + self.out(mixed.view(content.shape[0], -1, *content.shape[2:]))


def _weights(scores: torch.Tensor) -> torch.Tensor:
    """Softmax over the style positions. SANet's scores are unscaled, so most weights underflow
    to subnormal floats, which x86 CPUs multiply about 100x slower; below 1e-30 a weight changes
    nothing, so it becomes 0 (bench/sanet.py measured the attention before and after)."""
    weights = torch.softmax(scores, dim=-1)
    return weights.masked_fill(weights < 1e-30, 0)


class Transform(nn.Module):
    """Attention at relu4_1 and relu5_1, summed on relu4_1's grid, merged by a 3x3 convolution."""

    def __init__(self, channels: int = 512) -> None:
        super().__init__()
        self.attend4, self.attend5 = Attention(channels), Attention(channels)
        self.merge = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3))
        with torch.no_grad():
            self.merge[1].weight.zero_()[:, :, 1, 1] = torch.eye(channels)
            self.merge[1].bias.zero_()

    def keys(self, s4: torch.Tensor, s5: torch.Tensor) -> StyleKeys:
        return self.attend4.keys(s4), self.attend5.keys(s5)

    def attend(self, c4: torch.Tensor, c5: torch.Tensor, keys: StyleKeys, chunk: int | None = SCORES,
               stats: tuple[Any, Any] = (None, None)) -> torch.Tensor:
        """Before the merge: linear in what follows, so styles mix here as a weighted sum."""
        stats4, stats5 = stats
        deep = self.attend5(c5, keys[1], chunk, stats5)
        return self.attend4(c4, keys[0], chunk, stats4) + F.interpolate(deep, size=c4.shape[-2:], mode="nearest")

    def forward(self, c4: torch.Tensor, c5: torch.Tensor, s4: torch.Tensor, s5: torch.Tensor) -> torch.Tensor:
        return self.merge(self.attend(c4, c5, self.keys(s4, s5)))


class SANet(nn.Module):
    """Encoder (VGG-19 to relu5_1) + transform + decoder."""

    def __init__(self, encoder: Encoder, transform: Transform, decoder: Decoder) -> None:
        super().__init__()
        self.encoder, self.transform, self.decoder = encoder, transform, decoder

    def features(self, image: torch.Tensor, tile: int | None = None,
                 progress: tiles.TileProgress | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """relu4_1 and relu5_1; with `tile` (a multiple of 16) in tiles, keeping only the features."""
        if not tile:
            f = self.encoder(image, [ADAIN_LAYER, DEEP_LAYER])
            return f[ADAIN_LAYER], f[DEEP_LAYER]
        c4 = tiles.halo_tiled(lambda rows, cols: self.encoder(image[..., rows, cols], [ADAIN_LAYER])[ADAIN_LAYER],
                              image.shape[-2:], tile, STRIDE, HALO, progress, "encoding tiles")
        c5 = tiles.halo_tiled(lambda rows, cols: self.encoder(c4[..., rows, cols], [DEEP_LAYER], start=ADAIN_LAYER)
                              [DEEP_LAYER], c4.shape[-2:], tile // STRIDE, 2, DEEP_HALO)
        return c4, c5

    def style_keys(self, style: torch.Tensor) -> StyleKeys:
        return self.transform.keys(*self.features(style))

    def stylize(self, content: torch.Tensor, keys: list[StyleKeys], weights: list[float], alpha: float = 1.0,
                own: StyleKeys | None = None, tile: int | None = None, chunk: int | None = SCORES,
                shot: ShotHook | None = None, progress: tiles.TileProgress | None = None) -> torch.Tensor:
        """Decode the weighted sum of each style's attention result (the paper's interpolation).

        Below alpha 1 the photo's attention to its own features (`own`: the photo seen as a
        style) takes the rest, as the paper trades content for style. Sides of `content` (and
        `tile`) must be multiples of 16, so relu5_1 upsamples exactly onto relu4_1.
        """
        c4, c5 = self.features(content, tile, progress)
        stats = (shot("relu4_1", ops.mean_std(c4)), shot("relu5_1", ops.mean_std(c5))) if shot else (None, None)
        mixed = sum(w * self.transform.attend(c4, c5, k, chunk, stats) for w, k in zip(weights, keys, strict=True))
        if alpha < 1:
            if own is None:
                raise ValueError("alpha below 1 needs the photo's own keys")
            mixed = alpha * mixed + (1 - alpha) * self.transform.attend(c4, c5, own, chunk, stats)
        assert isinstance(mixed, torch.Tensor)

        def decode(rows: slice = slice(None), cols: slice = slice(None)) -> torch.Tensor:
            return self.decoder(self.transform.merge(mixed[..., rows, cols]))

        if not tile:
            return decode()
        return tiles.halo_tiled(decode, mixed.shape[-2:], tile // STRIDE, 1 / STRIDE, HALO // STRIDE, progress,
                                "painting tiles")


def from_file(state: Any, vgg: VGG19) -> SANet:
    if not isinstance(state, dict) or state.get("format") != SANET_FORMAT:
        raise ValueError(f"not a {SANET_FORMAT} file")
    transform, decoder = Transform(), Decoder()
    transform.load_state_dict({k: v.float() for k, v in state["transform"].items()})
    decoder.load_state_dict({k: v.float() for k, v in state["decoder"].items()})
    model = SANet(Encoder(vgg, state["channel_means"], last=DEEP_LAYER), transform, decoder)
    return model.eval().requires_grad_(False)
