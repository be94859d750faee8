"""Training pictures: decoded once into memory at the size training sees, then random crops.

On a laptop CPU decoding a JPEG costs more than a training step's data needs,
so each photo is decoded once (JPEG draft mode: at reduced size), kept as
uint8, and every batch is cropped from memory with the trainer's own seeded
`random.Random`, so a resumed run continues the same sequence of batches.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image, ImageOps
from torchvision.transforms.v2 import InterpolationMode

from ..errors import InputError
from ..images import IMAGE_SUFFIXES


def image_files(folder: str | Path, role: str) -> list[Path]:
    """Every image under `folder` (recursively, sorted, so runs are reproducible)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{folder}: no such folder (the {role} images)")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{folder}: no images in the {role} folder")
    return files


def load_small(path: Path, *, shorter: int | None = None, longer: int | None = None,
               square: bool = False) -> torch.Tensor | None:
    """uint8 CHW RGB with its shorter (or longer) side at that size; None if the file is unreadable.

    `square` crops the centre square (paintings seen whole for their statistics).
    """
    target = shorter or longer or 0
    try:
        with Image.open(path) as opened:
            opened.draft("RGB", (target, target))  # JPEG: decode at reduced size, much faster
            rgb = TF.pil_to_tensor(ImageOps.exif_transpose(opened).convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    h, w = rgb.shape[-2:]
    scale = target / (min(h, w) if shorter else max(h, w))
    rgb = TF.resize(rgb, [max(1, round(h * scale)), max(1, round(w * scale))], InterpolationMode.BICUBIC,
                    antialias=True)
    return TF.center_crop(rgb, [shorter, shorter]) if square and shorter else rgb


class Photos:
    """Content photos in memory; batches of random crops (flipped half the time) as float 0..1.

    With a `device` the photos live in its memory where they fit, so a GPU crops its own batches
    instead of waiting each step for a copy from the host; where they do not fit they stay in RAM.
    """

    def __init__(self, files: list[Path], crop: int, warn: Callable[[str], None], *,
                 shorter: int | None = None, longer: int | None = None,
                 device: torch.device | None = None) -> None:
        self.crop = crop
        loaded = [load_small(p, shorter=shorter, longer=longer) for p in files]
        self.images = [im for im in loaded if im is not None]
        if len(self.images) < len(files):
            warn(f"{len(files) - len(self.images)} unreadable image(s) skipped, {len(self.images)} used")
        if not self.images:
            raise InputError(f"no readable photos among the {len(files)} given")
        if device is not None and device.type != "cpu":
            try:
                self.images = [im.to(device) for im in self.images]
            except torch.OutOfMemoryError:
                self.images = [im.cpu() for im in self.images]
                warn(f"the photos do not fit in {device}'s memory; they stay in RAM")

    def batch(self, n: int, rng: random.Random) -> torch.Tensor:
        picks = rng.sample(self.images, n) if n <= len(self.images) else rng.choices(self.images, k=n)
        return torch.stack([self._crop(image, rng) for image in picks]).float() / 255.0

    def _crop(self, image: torch.Tensor, rng: random.Random) -> torch.Tensor:
        h, w = image.shape[-2:]
        if min(h, w) < self.crop:  # a small photo: scale it up so a crop fits
            scale = self.crop / min(h, w)
            image = TF.resize(image, [max(self.crop, round(h * scale)), max(self.crop, round(w * scale))],
                              antialias=True)
            h, w = image.shape[-2:]
        top, left = rng.randint(0, h - self.crop), rng.randint(0, w - self.crop)
        crop = TF.crop(image, top, left, self.crop, self.crop)
        return TF.horizontal_flip(crop) if rng.random() < 0.5 else crop
