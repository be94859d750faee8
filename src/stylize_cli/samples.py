"""The small images shipped inside the package (sources and licences: data/SOURCES.md)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PHOTOS = ("chelsea.jpg", "astronaut.jpg", "rocket.jpg", "coffee.jpg")
PAINTING = "woman_with_hat_matisse.jpg"


def data_path(name: str) -> Path:
    return Path(str(resources.files(__package__) / "data" / name))


def sample_photos() -> list[Path]:
    """The default content photos of train-style: varied subjects, all CC0 or public domain."""
    return [data_path(name) for name in PHOTOS]
