"""Reading and writing images: the only module that touches image files.

Every loader error becomes one `InputError` line naming the file; every save
goes to a temporary file beside the target and is renamed into place, so an
interrupted run never leaves a half-written image behind.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .atomic import atomic_write
from .errors import DiskFull, InputError, StylizeError
from .limits import max_pixels

ImageSource = str | os.PathLike | Image.Image

#: Output formats by extension; JPEG/WebP get quality 95 (the issue's choice).
SAVE_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
    ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
}
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
#: What folder scans treat as images.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}


@dataclass
class LoadedImage:
    """An image as the models see it: RGB float32 in 0..1, shape 1x3xHxW.

    `alpha` (1x1xHxW) is kept apart so style transfer never sees it and the
    saved result can carry it again.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor | None
    name: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the PIL convention."""
        return self.rgb.shape[-1], self.rgb.shape[-2]


def load_image(source: ImageSource, *, limit: int | None = None) -> LoadedImage:
    """Open a file (or take a PIL image) and convert it to an sRGB tensor."""
    if isinstance(source, Image.Image):
        return _to_loaded(source, getattr(source, "filename", "") or "<image>")
    path = Path(source)
    _check_file(path)
    return _decode(path, str(path), limit)


def check_image(path: str | os.PathLike, *, limit: int | None = None) -> None:
    """The checks `load_image` makes before decoding (a file, not empty, an image Pillow reads,
    within the picture limit), reading only the header: a style decoded later fails no later
    than now for any of these."""
    path = Path(path)
    _check_file(path)
    with _opened(path, str(path), limit):
        pass


def load_bytes(data: bytes, name: str = "-", *, limit: int | None = None) -> LoadedImage:
    """An image held in memory (a pipe's bytes), with every check a file gets; `name` for messages."""
    if not data:
        raise InputError(f"{name}: empty input (0 bytes)")
    return _decode(io.BytesIO(data), name, limit)


def _check_file(path: Path) -> None:
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a folder, not an image")
        if path.stat().st_size == 0:
            raise InputError(f"{path}: file is empty (0 bytes)")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def _decode(source: Path | io.BytesIO, name: str, limit: int | None) -> LoadedImage:
    with _opened(source, name, limit) as im:
        im.load()
        return _to_loaded(im, name)


@contextlib.contextmanager
def _opened(source: Path | io.BytesIO, name: str, limit: int | None) -> Iterator[Image.Image]:
    """The image opened (its header read) within the picture limit; every reading error becomes
    one InputError naming `name`."""
    limit = limit or max_pixels()
    try:
        with warnings.catch_warnings():
            # Pillow warns between its limit and twice it; our own check below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                w, h = im.size
                if w * h > limit:
                    raise InputError(
                        f"{name}: {w}x{h} is {w * h / 1e6:.0f} megapixels, over the "
                        f"{limit / 1e6:.0f} Mpx limit (a decompression bomb?); "
                        "raise STYLIZE_MAX_PIXELS if the image is genuine")
                yield im
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image, or a format Pillow cannot read") from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name}: refused as a decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{name}: truncated or corrupt image ({exc})") from None


def _to_loaded(im: Image.Image, name: str) -> LoadedImage:
    im = ImageOps.exif_transpose(im)
    im = _to_srgb(im)
    alpha = None
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16-bit and float greyscale: PIL's convert("RGB") would clip at 255.
        grey = np.asarray(im, dtype=np.float32)
        grey = grey / (1.0 if im.mode == "F" else 65535.0)
        rgb = torch.from_numpy(np.clip(grey, 0, 1)).expand(3, -1, -1)
        return LoadedImage(rgb.unsqueeze(0).contiguous(), None, name)
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    im = im.convert("RGBA" if has_alpha else "RGB")
    data = torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
    if has_alpha:
        alpha = data[3:].unsqueeze(0)
        if bool((alpha >= 1.0).all()):
            alpha = None  # fully opaque: nothing worth carrying
    return LoadedImage(data[:3].unsqueeze(0).contiguous(), alpha, name)


def _to_srgb(im: Image.Image) -> Image.Image:
    """Apply an embedded ICC profile, so wide-gamut photos keep their colours."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im  # a broken profile is not worth refusing the picture over


def fit(image: torch.Tensor, size: int | None, *, multiple: int = 1) -> torch.Tensor:
    """Resize so the longer side is `size` (aspect kept); None leaves it alone."""
    h, w = image.shape[-2:]
    if size is None:
        nh, nw = h, w
    else:
        scale = size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    if multiple > 1:
        nh, nw = max(multiple, nh // multiple * multiple), max(multiple, nw // multiple * multiple)
    return resize(image, (nh, nw))


def resize(image: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == tuple(hw):
        return image
    mode = "bicubic" if hw[0] > image.shape[-2] else "bilinear"
    out = F.interpolate(image, size=hw, mode=mode, align_corners=False, antialias=True)
    return out.clamp(0, 1)


def to_pil(rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> Image.Image:
    """1x3xHxW (0..1) → PIL; alpha is resized to the result if sizes differ."""
    rgb = rgb.detach().float().cpu()[0]
    if not torch.isfinite(rgb).all():  # NaN would be cast to arbitrary bytes and saved as a picture
        raise StylizeError("the result has NaN or infinite pixels (a numerical overflow); "
                           "try again in fp32 precision")
    rgb = rgb.clamp(0, 1).mul_(255.0).add_(0.5)  # one float copy: a 24 Mpx result is 288 MB of them
    array = rgb.permute(1, 2, 0).numpy().astype(np.uint8)
    im = Image.fromarray(array, "RGB")
    if alpha is not None:
        a = resize(alpha.detach().float().cpu(), tuple(rgb.shape[-2:]))[0, 0]
        im.putalpha(Image.fromarray((a.numpy() * 255.0 + 0.5).astype(np.uint8), "L"))
    return im


def output_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SAVE_FORMATS:
        known = ", ".join(sorted(SAVE_FORMATS))
        raise InputError(f"{path}: unknown output format '{suffix or '(none)'}'; use one of {known}")
    return SAVE_FORMATS[suffix]


def check_writable(path: str | os.PathLike) -> None:
    """Fail before a long run, not after it, when the output cannot be written."""
    output_format(path)
    check_destination(path)


def check_destination(path: str | os.PathLike) -> None:
    """The file's folder exists (or is made) and takes a new file: what `atomic_write` will need."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name such as {path / ('out' + (path.suffix or '.jpg'))}")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot write there ({exc.strerror or exc})") from None


def flatten(image: Image.Image, fmt: str) -> Image.Image:
    """A transparent picture on white, for formats without alpha: dropping the alpha channel would
    show whatever the transparent pixels hold (the network paints them too)."""
    if fmt not in _flattened:
        _flattened.add(fmt)
        logging.getLogger(__name__).warning("%s has no transparency: transparent parts are put on white "
                                            "(write .png, .webp or .tif to keep them)", fmt)
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


#: errors that mean the disk (or the user's quota) is full
FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_flattened: set[str] = set()  #: formats already warned about in this process: said once, not per photo


def encode(image: Image.Image, fmt: str, fh: IO[bytes]) -> None:
    """The picture in `fmt` (SAVE_FORMATS' values) to an open binary file: a file or a pipe."""
    if image.mode == "RGBA" and fmt not in _ALPHA_FORMATS:
        image = flatten(image, fmt)
    options: dict[str, object] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    image.save(fh, format=fmt, **options)


def save_image(image: Image.Image, path: str | os.PathLike) -> Path:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    path = Path(path)
    fmt = output_format(path)
    try:
        with atomic_write(path) as fh:
            encode(image, fmt, fh)
    except OSError as exc:
        if exc.errno in FULL:
            raise DiskFull(f"{path}: could not save (no space left on the device)") from None
        raise InputError(f"{path}: could not save ({exc.strerror or exc})") from None
    return path
