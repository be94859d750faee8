"""Stylize an image of any size in bounded memory: overlapping tiles, feathered seams."""

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
