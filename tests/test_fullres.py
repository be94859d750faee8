"""Full resolution: adain in tiles gives the untiled picture; large pictures tile on their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylize_cli import Stylizer
from stylize_cli import tiles as tiles_module
from stylize_cli.methods import ProgressEvent
from stylize_cli.methods.configs import ADAIN_TILE
from stylize_cli.tiles import halo_boxes

from .conftest import PAINTING, PHOTOS


def test_halo_boxes_cover_the_grid_once_and_stay_inside() -> None:
    covered = torch.zeros(37, 50, dtype=torch.int64)
    for rows, cols, grown_rows, grown_cols in halo_boxes(37, 50, 16, 5):
        covered[rows, cols] += 1
        assert grown_rows.start == max(0, rows.start - 5) and grown_rows.stop == min(37, rows.stop + 5)
        assert grown_cols.start == max(0, cols.start - 5) and grown_cols.stop == min(50, cols.stop + 5)
    assert bool((covered == 1).all())


@pytest.mark.parametrize("options", [{}, {"style_weights": [1, 2], "alpha": 0.6}, {"mask": True}],
                         ids=["one style", "mixed, alpha", "mask"])
def test_tiles_give_the_untiled_picture(tmp_path: Path, options: dict[str, object]) -> None:
    """Every tile is stylized with a margin wider than the encoder's and decoder's receptive fields
    and AdaIN takes the whole picture's statistics, so tiles change nothing: no seams, no colour
    steps, whatever the options (sides not multiples of 8 or of the tile here)."""
    photo = Image.open(PHOTOS[0]).convert("RGB").crop((0, 0, 251, 203))
    styles = [PAINTING, PHOTOS[1]] if options else [PAINTING]
    if options.pop("mask", False):
        mask = Image.new("L", photo.size, 0)
        mask.paste(255, (0, 0, 120, 203))
        mask.save(tmp_path / "mask.png")
        options = {"mask": str(tmp_path / "mask.png")}
    for precision, most, mean in (("fp32", 1, 0.05), ("bf16", 3, 0.25)):  # bf16 rounds tiles a little apart
        whole = np.asarray(Stylizer(styles, method="adain", device="cpu", precision=precision, **options)(photo),
                           np.int16)
        tiled = np.asarray(Stylizer(styles, method="adain", device="cpu", tile=64, precision=precision,
                                    **options)(photo), np.int16)
        assert whole.shape == tiled.shape == (203, 251, 3)
        assert np.abs(whole - tiled).max() <= most, (precision, np.abs(whole - tiled).max())
        assert np.abs(whole - tiled).mean() < mean, (precision, np.abs(whole - tiled).mean())


def test_large_pictures_go_in_tiles_on_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    tiles: list[int | None] = []
    stylizer = Stylizer(PAINTING, method="adain", device="cpu")
    model = stylizer.method.model
    original = model.stylize
    monkeypatch.setattr(model, "stylize", lambda *a, **k: (tiles.append(k["tile"]), original(*a, **k))[1])
    monkeypatch.setattr(tiles_module, "AUTO_TILE_PIXELS", 200 * 200)
    photo = Image.open(PHOTOS[0]).convert("RGB")  # 451x300: over the lowered bound
    assert stylizer(photo).size == photo.size
    assert stylizer(photo.resize((150, 100))).size == (150, 100)
    assert tiles == [ADAIN_TILE, None]
    assert Stylizer(PAINTING, method="adain", device="cpu", tile=100).method.config.tile == 100


@pytest.mark.parametrize("method", ["adain", "sanet"])
def test_every_method_reports_its_stages_and_tiles(method: str) -> None:
    """adain sent no events at all: `Stylizer(..., progress=...)` printed nothing, and a long photo
    showed a blank spinner. Now a pass starts and ends, and tiles count up."""
    photo = Image.open(PHOTOS[0]).convert("RGB")
    events: list[ProgressEvent] = []
    Stylizer(PAINTING, method=method, device="cpu", size=128)(photo, progress=events.append)
    assert [(e.stage, e.step, e.steps) for e in events] == [("stylizing", 0, 1), ("stylizing", 1, 1)]
    events.clear()
    Stylizer(PAINTING, method=method, device="cpu", size=256, tile=64)(photo, progress=events.append)
    painting = [e for e in events if e.stage == "painting tiles"]
    assert [e.step for e in painting] == list(range(1, len(painting) + 1)) and painting[-1].steps == len(painting) > 4
    assert {e.stage for e in events} >= {"stylizing", "encoding tiles", "painting tiles"}


def test_a_mask_of_another_shape_is_stretched_with_a_word(tmp_path: Path) -> None:
    import logging

    Image.new("L", (100, 100), 255).save(tmp_path / "square.png")
    photo = Image.open(PHOTOS[0]).convert("RGB")  # 451x300
    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("stylize_cli")
    logger.addHandler(handler)
    try:
        Stylizer([PAINTING, PHOTOS[1]], method="adain", device="cpu", size=64, mask=str(tmp_path / "square.png"))(photo)
    finally:
        logger.removeHandler(handler)
    assert any("a different shape from the photo (64x43): it is stretched" in line for line in said), said
