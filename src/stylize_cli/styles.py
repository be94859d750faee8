"""CIN style files: a 100-d style vector plus where it came from, and maybe a network.

A style is small enough to read: one JSON file with the vector and its
provenance. Built-in styles ship in `data/styles/`; the user's own live in
`STYLIZE_DATA/styles` (default: platformdirs' user data dir) and are found by
name, so `stylize run photo.jpg --style my_style` works anywhere.

A style trained with `train-style --network` also names a weights file beside
it (`NAME.<sha256 prefix>.net.pt`, fp16) and its sha256: used alone at full
strength the style runs that network; mixed or with --alpha below 1 it runs as
its vector. The weights file's name changes with its content, so replacing a
style never leaves a JSON file pointing at weights it was not made with.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from .atomic import atomic_write
from .errors import InputError, OptionError

if TYPE_CHECKING:
    import torch

    from .models.style_network import StyleNetwork

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
    weights: str = ""  #: a network style's weights file, beside the style file; "" = a vector style
    sha256: str = ""  #: of that file
    origin: str = field(default="", compare=False)  #: "built-in" or "user", set when found
    folder: str = field(default="", compare=False)  #: where it was found, set when loaded

    @property
    def kind(self) -> str:
        return "network" if self.weights else "vector"

    def tensor(self) -> torch.Tensor:
        import torch  # here, not at the top: listing styles must not load it

        return torch.tensor(self.vector, dtype=torch.float32).view(1, STYLE_DIM)

    def weights_path(self) -> Path:
        return Path(self.folder) / self.weights

    def network_weights(self) -> StyleNetwork:
        """The style's own network, loaded only after its sha256 matches the style file's."""
        from .models.style_network import StyleNetwork
        from .weights import load_checkpoint

        path = self.weights_path()
        return StyleNetwork.from_state(load_checkpoint(path, self.sha256, what="style network"), path)

    def save(self, path: str | os.PathLike, network: bytes | None = None) -> Path:
        """Write atomically: a temporary file in the same folder, then rename. `network`: the
        weights of a network style, written first under a name of their own (see above); the
        weights of the style it replaces are removed once nothing points at them."""
        path = Path(path)
        old = _weights_of(path)
        try:
            if network is not None:
                import hashlib

                self.sha256 = hashlib.sha256(network).hexdigest()
                self.weights = f"{path.stem}.{self.sha256[:12]}.net.pt"
                with atomic_write(path.with_name(self.weights)) as fh:
                    fh.write(network)
            data = {"format": STYLE_FORMAT, **{k: v for k, v in asdict(self).items() if k not in ("origin", "folder")}}
            with atomic_write(path, "w") as fh:
                json.dump(data, fh, indent=1)
        except OSError as exc:
            raise InputError(f"{path}: could not save the style ({exc.strerror or exc})") from None
        if old and old != self.weights and WEIGHTS_NAME.fullmatch(old):
            path.with_name(old).unlink(missing_ok=True)
        self.folder = str(path.parent)
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
        weights, sha256 = data.get("weights", ""), data.get("sha256", "")
        if weights and (not isinstance(weights, str) or not WEIGHTS_NAME.fullmatch(weights)
                        or not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256)):
            raise InputError(f"{path}: \"weights\" must be a file name beside it ending in .net.pt, "
                             "with its \"sha256\" (64 hex digits)")
        known = {k: data[k] for k in ("name", "network", "source", "licence", "made_by", "created") if k in data}
        return cls(**{"name": path.stem, **known, "vector": [float(v) for v in vector]}, weights=weights or "",
                   sha256=sha256 if weights else "", origin=origin, folder=str(path.parent))


#: The one rule for style names (train-style, rename, the files they make): letters of any
#: script, digits, '_' and '-', starting with a letter or digit. No '.', '/' or spaces, so a name
#: is a plain file name and never a path.
NAME = re.compile(r"[^\W_][\w-]*")
#: a network style's weights: its style's name, a hash, `.net.pt`; a plain file name beside the
#: style file, so a style file cannot point anywhere else
WEIGHTS_NAME = re.compile(rf"(?:{NAME.pattern})(?:\.[0-9a-f]+)?\.net\.pt")


def check_name(name: str) -> str:
    """Refuse, before any work, a name that could not be saved or found again."""
    if not NAME.fullmatch(name):
        raise OptionError("name", f"{name!r}: use letters, digits, '_' and '-', starting with a letter or digit")
    return name


def _weights_of(path: Path) -> str:
    """The weights file the style file at `path` names now, if it is a network style."""
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("weights") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def user_dir() -> Path:
    return Path(os.environ.get("STYLIZE_DATA") or platformdirs.user_data_dir("stylize")) / "styles"


def builtin_dir() -> Path:
    return Path(str(resources.files(__package__) / "data" / "styles"))


def builtin_names() -> set[str]:
    return {p.stem for p in builtin_dir().glob("*.json")}


def all_styles(unreadable: list[InputError] | None = None) -> list[Style]:
    """Built-in styles, then the user's (a user style may shadow a built-in one).

    A style file that cannot be read is left out and its error appended to `unreadable` (when
    given): one broken file must not hide every other style.
    """
    found: dict[str, Style] = {}
    for folder, origin in ((builtin_dir(), "built-in"), (user_dir(), "user")):
        for path in sorted(folder.glob("*.json")):  # nothing when the folder does not exist
            try:
                found[path.stem] = Style.load(path, origin)
            except InputError as exc:
                if unreadable is None:
                    raise
                unreadable.append(exc)
    return sorted(found.values(), key=lambda s: (s.origin != "built-in", s.name))


def user_style(name: str) -> Path:
    """The file of the user's style `name`; built-in styles cannot be changed in place."""
    path = user_dir() / f"{check_name(name)}.json"
    if not path.is_file():
        where = "a built-in style, which cannot be changed" if name in builtin_names() else "no style of yours"
        raise InputError(f"{name}: {where} (`stylize styles list` shows yours)")
    return path


def remove(name: str) -> list[Path]:
    """Delete the user's style `name`: its file, its network's weights and any unfinished training."""
    path = user_style(name)
    weights = _weights_of(path)
    gone = [path]
    if weights and WEIGHTS_NAME.fullmatch(weights):
        gone.append(path.with_name(weights))
    gone.append(path.with_name(f".{name}.train.pt"))
    removed = [p for p in gone if p.exists()]
    for p in removed:
        p.unlink()
    return removed


def rename(old: str, new: str, *, force: bool = False) -> Path:
    """Give the user's style another name (its weights file follows, renamed with it)."""
    path = user_style(old)
    target = user_dir() / f"{check_name(new)}.json"
    if new == old:
        raise OptionError("name", f"{new!r} is the style's name already")
    if target.exists() and not force:
        raise InputError(f"{new}: already {target}; choose another name, or replace it (force)")
    style = Style.load(path, "user")
    network = style.weights_path().read_bytes() if style.weights else None
    style.name = new
    style.save(target, network=network)
    remove(old)
    return target


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
