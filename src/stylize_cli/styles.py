"""CIN style files: a 100-d style vector plus where it came from.

A style is small enough to read: one JSON file with the vector and its
provenance. Built-in styles ship in `data/styles/`; the user's own live in
`STYLIZE_DATA/styles` (default: platformdirs' user data dir) and are found by
name, so `stylize run photo.jpg --style my_style` works anywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from .atomic import atomic_write
from .errors import InputError

if TYPE_CHECKING:
    import torch

STYLE_FORMAT = "stylize-style/1"
NETWORK = "magenta-arbitrary-transfer-f16"  #: the transfer network the vectors drive
STYLE_DIM = 100


@dataclass
class Style:
    name: str
    vector: list[float]
    network: str = NETWORK
    source: str = ""  #: the painting it was made from
    licence: str = ""  #: of that painting
    made_by: str = ""  #: "predicted", or the train-style command and its result
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    origin: str = field(default="", compare=False)  #: "built-in" or "user", set when found

    def tensor(self) -> torch.Tensor:
        import torch  # here, not at the top: listing styles must not load it

        return torch.tensor(self.vector, dtype=torch.float32).view(1, STYLE_DIM)

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically: a temporary file in the same folder, then rename."""
        path = Path(path)
        data = {"format": STYLE_FORMAT, **{k: v for k, v in asdict(self).items() if k != "origin"}}
        try:
            with atomic_write(path, "w") as fh:
                json.dump(data, fh, indent=1)
        except OSError as exc:
            raise InputError(f"{path}: could not save the style ({exc.strerror or exc})") from None
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, origin: str = "") -> Style:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such style file") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable style file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != STYLE_FORMAT:
            raise InputError(f"{path}: not a stylize style file (no \"format\": \"{STYLE_FORMAT}\")")
        vector = data.get("vector")
        if (not isinstance(vector, list) or len(vector) != STYLE_DIM
                or not all(isinstance(v, (int, float)) for v in vector)):
            raise InputError(f"{path}: \"vector\" must be a list of {STYLE_DIM} numbers")
        known = {k: data[k] for k in ("name", "network", "source", "licence", "made_by", "created") if k in data}
        return cls(**{"name": path.stem, **known, "vector": [float(v) for v in vector]}, origin=origin)


def user_dir() -> Path:
    return Path(os.environ.get("STYLIZE_DATA") or platformdirs.user_data_dir("stylize")) / "styles"


def builtin_dir() -> Path:
    return Path(str(resources.files(__package__) / "data" / "styles"))


def builtin_names() -> set[str]:
    return {p.stem for p in builtin_dir().glob("*.json")}


def all_styles() -> list[Style]:
    """Built-in styles, then the user's (a user style may shadow a built-in one)."""
    found = {p.stem: Style.load(p, "built-in") for p in sorted(builtin_dir().glob("*.json"))}
    if user_dir().is_dir():
        found.update({p.stem: Style.load(p, "user") for p in sorted(user_dir().glob("*.json"))})
    return sorted(found.values(), key=lambda s: (s.origin != "built-in", s.name))


def find(name: str) -> Style:
    for folder, origin in ((user_dir(), "user"), (builtin_dir(), "built-in")):
        path = folder / f"{name}.json"
        if path.is_file():
            return Style.load(path, origin)
    import difflib

    names = sorted(builtin_names() | {p.stem for p in user_dir().glob("*.json")})  # none if no folder
    hint = difflib.get_close_matches(name, names, n=1)
    more = f"did you mean '{hint[0]}'? " if hint else ""
    raise InputError(f"{name}: no such file or named style; {more}`stylize styles list` shows them")


StyleSpec = str | os.PathLike | Any


def is_name(spec: object) -> bool:
    """A bare word such as `starry` (no folder, no extension) that is not a file here."""
    if not isinstance(spec, (str, os.PathLike)):
        return False
    text = os.fspath(spec)
    path = Path(text)
    return bool(text) and isinstance(text, str) and not path.exists() and path.name == text and not path.suffix
