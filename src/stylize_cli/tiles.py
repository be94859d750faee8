"""Stylize an image of any size in bounded memory.

Two ways. `tiled` runs a whole network per overlapping tile and feathers the seams (cin, whose
instance norms need statistics anyway). `halo_boxes` gives each tile a margin wider than a
network's receptive field, so a tile's core comes out exactly as in one pass over the whole
picture and needs no blending (adain, whose encoder and decoder are plain convolutions).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .methods.configs import ADAIN_TILE, AUTO_TILE_PIXELS


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


#: told (stage, tiles done, tiles in all) after each tile, so a long picture shows its progress
TileProgress = Callable[[str, int, int], None]


def halo_tiled(fn: Callable[[slice, slice], torch.Tensor], hw: tuple[int, ...], tile: int, stride: float,
               halo: int, progress: TileProgress | None = None, stage: str = "tiles") -> torch.Tensor:
    """Run `fn` on every tile of an `hw` grid grown by `halo` and assemble the cores; the output has
    1/stride the resolution of the input (an encoder's stride is 8, its decoder's 1/8)."""
    out: torch.Tensor | None = None
    boxes = halo_boxes(hw[0], hw[1], tile, halo)
    for done, (rows, cols, grown_rows, grown_cols) in enumerate(boxes, start=1):
        piece = fn(grown_rows, grown_cols)
        if progress:
            progress(stage, done, len(boxes))
        if out is None:
            out = piece.new_empty(*piece.shape[:2], round(hw[0] / stride), round(hw[1] / stride))

        def scaled(s: slice, origin: int) -> slice:
            return slice(round((s.start - origin) / stride), round((s.stop - origin) / stride))

        out[..., scaled(rows, 0), scaled(cols, 0)] = \
            piece[..., scaled(rows, grown_rows.start), scaled(cols, grown_cols.start)]
    assert out is not None
    return out


def working_picture(photo: torch.Tensor, multiple: int, tile: int | None,
                    auto_tile: int = ADAIN_TILE) -> tuple[torch.Tensor, int | None]:
    """The photo reflection-padded to a multiple of a network's stride (crop the result back), and
    the tile to use: `tile`, or `auto_tile` above AUTO_TILE_PIXELS, rounded down to the multiple."""
    x = photo
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
    tile = tile or (auto_tile if h * w > AUTO_TILE_PIXELS else None)
    return x, tile and max(multiple, tile - tile % multiple)


def ramp(length: int, overlap: int, fade_in: bool, fade_out: bool) -> torch.Tensor:
    weight = torch.ones(length)
    fade = torch.linspace(0, 1, overlap + 2)[1:-1]  # never exactly 0: every pixel keeps a weight
    if fade_in and overlap:
        weight[:overlap] = fade
    if fade_out and overlap:
        weight[-overlap:] = fade.flip(0)
    return weight


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, tile: int,
          overlap: int, progress: TileProgress | None = None) -> torch.Tensor:
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
            if progress:
                progress("tiles", ys.index(y) * len(xs) + xs.index(x) + 1, len(ys) * len(xs))
    return out / total
