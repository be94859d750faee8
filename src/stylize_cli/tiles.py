"""Stylize an image of any size in bounded memory.

Two ways. `tiled` runs a whole network per overlapping tile and feathers the seams (cin, whose
instance norms need statistics anyway). `halo_boxes` gives each tile a margin wider than a
network's receptive field, so a tile's core comes out exactly as in one pass over the whole
picture and needs no blending (adain, whose encoder and decoder are plain convolutions).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis: a regular step, the last tile flush with the end."""
    if length <= tile:
        return [0]
    step = tile - overlap
    positions = list(range(0, length - tile, step))
    return [*positions, length - tile]


def halo_boxes(height: int, width: int, tile: int,
               halo: int) -> list[tuple[slice, slice, slice, slice]]:
    """(core rows, core cols, padded rows, padded cols) covering a height x width grid.

    Cores do not overlap; padded boxes are the cores grown by `halo` and cut at the edges, where
    a network pads as it would for the whole picture. A network with pooling needs tile and
    halo at multiples of its stride, so every tile keeps the whole picture's pooling grid.
    """
    rows = [(y, min(y + tile, height)) for y in range(0, height, tile)]
    cols = [(x, min(x + tile, width)) for x in range(0, width, tile)]
    return [(slice(y0, y1), slice(x0, x1), slice(max(0, y0 - halo), min(height, y1 + halo)),
             slice(max(0, x0 - halo), min(width, x1 + halo))) for y0, y1 in rows for x0, x1 in cols]


def ramp(length: int, overlap: int, fade_in: bool, fade_out: bool) -> torch.Tensor:
    weight = torch.ones(length)
    fade = torch.linspace(0, 1, overlap + 2)[1:-1]  # never exactly 0: every pixel keeps a weight
    if fade_in and overlap:
        weight[:overlap] = fade
    if fade_out and overlap:
        weight[-overlap:] = fade.flip(0)
    return weight


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, tile: int,
          overlap: int) -> torch.Tensor:
    """Apply `fn` (same-size in, same-size out) tile by tile and blend the overlaps linearly."""
    _, _, h, w = image.shape
    out = torch.zeros_like(image)
    total = torch.zeros((1, 1, h, w), dtype=image.dtype, device=image.device)
    ys, xs = starts(h, tile, overlap), starts(w, tile, overlap)
    for y in ys:
        for x in xs:
            piece = fn(image[..., y:y + tile, x:x + tile])
            th, tw = piece.shape[-2:]
            wy = ramp(th, min(overlap, th // 2), y > 0, y + th < h).to(image)
            wx = ramp(tw, min(overlap, tw // 2), x > 0, x + tw < w).to(image)
            weight = (wy[:, None] * wx[None, :])[None, None]
            out[..., y:y + th, x:x + tw] += piece * weight
            total[..., y:y + th, x:x + tw] += weight
    return out / total
