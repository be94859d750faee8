"""Build the built-in CIN style gallery (src/stylize_cli/data/styles/) and its README grid.

Each style is made from a public-domain painting (or CC0 texture) in
`../shared/images/style/` (see that folder's README), whole or a detail:
predicted by Magenta's style predictor, then refined with train-style on the
sample photos shipped in the package. Run from the repository root:

    STYLIZE_MIRROR=../shared/weights python scripts/make_gallery.py [--grid-only]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from stylize_cli import stylize
from stylize_cli.devices import pick_device
from stylize_cli.images import load_image
from stylize_cli.samples import data_path
from stylize_cli.styles import builtin_dir
from stylize_cli.train.style import TrainStyleConfig, load_photos, make_style, train_style

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT.parent / "shared" / "images" / "style"
PD = "public domain"
CC0 = "CC0 1.0 (scikit-image data)"

# name: (file, crop as fractions (left, top, right, bottom) or None, licence, what it is)
GALLERY = {
    "cezanne": ("the_resevoir_at_poitiers.jpg", None, PD, "Paul Cézanne (d. 1906), The Reservoir at Poitiers"),
    "cezanne_water": ("the_resevoir_at_poitiers.jpg", (0, 0.5, 1, 1), PD, "Cézanne, detail: water and bank"),
    "matisse": ("woman_with_hat_matisse.jpg", None, PD, "Henri Matisse, Woman with a Hat (1905)"),
    "matisse_hat": ("woman_with_hat_matisse.jpg", (0, 0, 1, 0.42), PD, "Matisse, detail: the hat"),
    "kirchner": ("scene_de_rue.jpg", None, PD, "Ernst Ludwig Kirchner, Street Scene (1913)"),
    "kirchner_detail": ("scene_de_rue.jpg", (0, 0, 0.5, 1), PD, "Kirchner, detail: left half"),
    "leger": ("contrast_of_forms.jpg", None, PD, "Fernand Léger, Contrast of Forms (1913)"),
    "leger_detail": ("contrast_of_forms.jpg", (0.25, 0.25, 0.75, 0.75), PD, "Léger, detail: centre"),
    "mondrian": ("mondrian_cropped.jpg", None, PD, "Piet Mondrian (d. 1944), crop"),
    "brick": ("brick.png", None, CC0, "brick wall texture"),
    "grass": ("grass.png", None, CC0, "grass texture"),
    "gravel": ("gravel.png", None, CC0, "gravel texture"),
}


def painting(file: str, crop: tuple[float, float, float, float] | None) -> torch.Tensor:
    rgb = load_image(SOURCES / file).rgb
    if crop:
        h, w = rgb.shape[-2:]
        rgb = rgb[..., round(crop[1] * h):round(crop[3] * h), round(crop[0] * w):round(crop[2] * w)]
    return rgb


def train_all(steps: int) -> None:
    device = pick_device("cpu")
    config = TrainStyleConfig(steps=steps)
    photos = load_photos(None, config, print)
    for name, (file, crop, licence, title) in GALLERY.items():
        start = time.perf_counter()
        result = train_style(painting(file, crop), photos, config, device, Path(f"/tmp/gallery_{name}.pt"))
        detail = f", crop {crop}" if crop else ""
        style = make_style(name, result, f"{file}{detail}: {title}", licence,
                           f"scripts/make_gallery.py (train_style, {steps} steps, 256 px crops of the sample photos "
                           "seen at 512 px)")
        style.save(builtin_dir() / f"{name}.json")
        print(f"{name}: {style.made_by} in {time.perf_counter() - start:.0f} s", flush=True)


def grid(path: Path, photo: str = "chelsea.jpg", tile: int = 240) -> None:
    tiles = []
    for name in GALLERY:
        image = stylize(data_path(photo), name, method="cin", size=tile)
        canvas = Image.new("RGB", (image.width, image.height + 22), "white")
        canvas.paste(image, (0, 22))
        ImageDraw.Draw(canvas).text((4, 4), name, fill="black")
        tiles.append(canvas)
    cols = 4
    rows = -(-len(tiles) // cols)
    w, h = tiles[0].size
    sheet = Image.new("RGB", (cols * w, rows * h), "white")
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % cols) * w, (i // cols) * h))
    sheet.save(path, quality=88)
    print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--grid-only", action="store_true")
    args = parser.parse_args()
    if not args.grid_only:
        train_all(args.steps)
    grid(ROOT / "docs" / "gallery.jpg")
