"""Build the built-in CIN style gallery (src/stylize_cli/data/styles/) and its README grid.

Each style is made from a public-domain painting (or CC0 texture) in
`../shared/images/style/` (see that folder's README), whole or a detail:
predicted by Magenta's style predictor, then refined with train-style on the
sample photos shipped in the package. The styles in NETWORKS also get a network
of their own (train-style --network), trained from their learned vector. Run
from the repository root:

    STYLIZE_MIRROR=../shared/weights python scripts/make_gallery.py [--grid-only]
    STYLIZE_MIRROR=../shared/weights python scripts/make_gallery.py --only NAME ... [--networks-only]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

from stylize_cli.devices import pick_device, use_all_cores
from stylize_cli.images import load_image
from stylize_cli.samples import data_path
from stylize_cli.styles import Style, builtin_dir, builtin_names
from stylize_cli.train.style import TrainStyleConfig, load_photos, make_style, style_config, train_style

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
    # The famous paintings, under the names users type (../shared/images/README.md: public domain,
    # faithful photographs of flat works).
    "starry-night": ("starry_night.jpg", None, PD, "Vincent van Gogh, The Starry Night (1889)"),
    "the-scream": ("the_scream.jpg", None, PD, "Edvard Munch, The Scream (1893)"),
    "great-wave": ("great_wave.jpg", None, PD, "Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831)"),
    "composition-vii": ("composition_vii.jpg", None, PD, "Wassily Kandinsky (d. 1944), Composition VII (1913)"),
    "udnie": ("udnie.jpg", None, PD, "Francis Picabia, Udnie (1913, published before 1931)"),
    "water-lilies": ("water_lilies.jpg", None, PD, "Claude Monet (d. 1926), Water Lilies (1919)"),
    "impression-sunrise": ("impression_sunrise.jpg", None, PD, "Claude Monet, Impression, Sunrise (1872)"),
}


def painting(file: str, crop: tuple[float, float, float, float] | None) -> torch.Tensor:
    rgb = load_image(SOURCES / file).rgb
    if crop:
        h, w = rgb.shape[-2:]
        rgb = rgb[..., round(crop[1] * h):round(crop[3] * h), round(crop[0] * w):round(crop[2] * w)]
    return rgb


#: Built-in styles that are also networks: those where the network measured better than the vector
#: (`bench/network.py`: a lower style ratio, and a content ratio at most 0.05 above the vector's).
#: great-wave, the-scream and impression-sunrise lost 0.056-0.072 of content ratio: vectors only.
NETWORKS = ("starry-night", "composition-vii", "udnie", "water-lilies")


def train_all(steps: int | None, network_steps: int | None, only: list[str] | None = None,
              networks_only: bool = False) -> None:
    use_all_cores()
    device = pick_device("cpu")
    for name, (file, crop, licence, title) in GALLERY.items():
        if only and name not in only:
            continue
        detail = f", crop {crop}" if crop else ""
        source = f"{file}{detail}: {title}"
        if not networks_only:
            train_one(name, painting(file, crop), source, licence, style_config(steps=steps), device)
        if name in NETWORKS:
            train_one(name, painting(file, crop), source, licence,
                      style_config(network=True, steps=network_steps), device)


def train_one(name: str, image: torch.Tensor, source: str, licence: str, config: TrainStyleConfig,
              device: torch.device) -> None:
    """A vector from the predicted one, or a network from the style's shipped vector."""
    start = time.perf_counter()
    path = builtin_dir() / f"{name}.json"
    earlier = Style.load(path) if config.network else None
    result = train_style(image, load_photos(None, config, print), config, device,
                         Path(f"/tmp/gallery_{name}{'_net' if config.network else ''}.pt"),
                         start=earlier.tensor() if earlier else None)
    kind = "network from the shipped vector" if config.network else "vector"
    style = make_style(name, result, source, licence,
                       f"scripts/make_gallery.py (train_style, {kind}, {config.steps} steps, style weight "
                       f"{config.style_weight:g}, 256 px crops of the "
                       "sample photos seen at 512 px)", earlier)
    style.save(path, network=result.network.to_bytes() if result.network else None)
    print(f"{name}: {style.made_by} in {time.perf_counter() - start:.0f} s", flush=True)


def grid(path: Path, photo: str = "chelsea.jpg", tile: int = 240) -> None:
    """The README's picture: `stylize styles sheet` over the built-in styles."""
    cmd = [sys.executable, "-m", "stylize_cli", "styles", "sheet", str(data_path(photo)), *sorted(builtin_names()),
           "-o", str(path), "--size", str(tile), "--columns", "5", "-q"]
    print(" ".join(["stylize", *cmd[3:]]))
    subprocess.run(cmd, check=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, help="a vector's (default: train-style's)")
    parser.add_argument("--network-steps", type=int, help="a network's (default: train-style --network's)")
    parser.add_argument("--grid-only", action="store_true")
    parser.add_argument("--only", nargs="+", choices=list(GALLERY), help="(re)make only these styles")
    parser.add_argument("--networks-only", action="store_true", help="keep the vectors, retrain the networks")
    args = parser.parse_args()
    if not args.grid_only:
        train_all(args.steps, args.network_steps, args.only, args.networks_only)
    grid(ROOT / "docs" / "gallery.jpg")
