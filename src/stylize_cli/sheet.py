"""A contact sheet: one photo in every named style, labelled, so a style can be chosen by eye.

The photo is prepared once and each style's vector drives the same network, so a sheet of
twenty styles costs twenty passes of cin at the tile size and nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw

from .api import Stylizer
from .images import ImageSource, fit, load_image, to_pil
from .styles import Style, all_styles, find

LABEL = 22  #: px of white above each tile for its name


def contact_sheet(photo: ImageSource, names: Sequence[str] | None = None, size: int = 256,
                  columns: int | None = None, device: str = "auto",
                  progress: Callable[[int, int], None] | None = None) -> Image.Image:
    """`photo` (long side `size`) in each style named (default: every style, built-in and the
    user's), on a grid `columns` wide (default: as square as it gets), the photo itself first."""
    chosen: list[Style] = [find(n) for n in names] if names else all_styles()
    rgb = fit(load_image(photo).rgb, size)
    tiles = [("photo", to_pil(rgb))]
    for i, style in enumerate(chosen, start=1):
        tiles.append((style.name, Stylizer(style, method="cin", device=device)(to_pil(rgb))))
        if progress:
            progress(i, len(chosen))
    return grid(tiles, columns)


def grid(tiles: Sequence[tuple[str, Image.Image]], columns: int | None = None) -> Image.Image:
    """Labelled pictures of one size on a grid `columns` wide (default: as square as it gets)."""
    columns = columns or math.ceil(math.sqrt(len(tiles)))
    w, h = tiles[0][1].size
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * w, rows * (h + LABEL)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (name, tile) in enumerate(tiles):
        x, y = (i % columns) * w, (i // columns) * (h + LABEL)
        sheet.paste(tile, (x, y + LABEL))
        draw.text((x + 4, y + 5), name, fill="black")
    return sheet
