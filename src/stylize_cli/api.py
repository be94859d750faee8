"""The Python API: load → prepare styles → apply → colour → PIL image.

The CLI is a thin layer over `stylize()` and `Stylizer`; tests call them directly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image

from . import methods, ops, style_cache
from . import styles as styles_module
from .devices import pick_device
from .errors import InputError, Interrupted, OptionError
from .images import ImageSource, LoadedImage, check_image, fit, load_image, resize, to_pil
from .limits import check_side
from .methods import ProgressCallback, mixing_weights
from .styles import Style, StyleSpec
from .temporal import ShotHook

ColorMode = Literal["luminance", "histogram"]
COLOR_MODES = ("luminance", "histogram")
MIN_MAX_SIZE = 16  #: --max-size: the smallest working size any method can use


class Stylizer:
    """One method with its styles prepared once, applied to any number of images.

    Colour preservation is done here, around the method, so every method gets
    it: "histogram" recolours the styles to the content's colour statistics
    before they are used; "luminance" transfers style on luminance only and puts
    the content's own chrominance back afterwards (Gatys et al. 2016).
    """

    def __init__(self, styles: StyleSpec | Sequence[StyleSpec], *, method: str = "auto",
                 style_weights: Sequence[float] | None = None,
                 preserve_color: ColorMode | None = None, style_size: int | None = None,
                 max_size: int | None = None, device: str | torch.device = "auto", **options: Any) -> None:
        specs = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        if not specs:
            raise InputError("give at least one style")
        if style_weights is None:
            style_weights = [1.0] * len(specs)
        if len(style_weights) != len(specs):
            raise InputError(f"{len(style_weights)} style weights given for {len(specs)} style "
                             "images; give one weight per style, in the same order")
        if preserve_color not in (None, *COLOR_MODES):
            raise InputError(f"unknown colour mode '{preserve_color}': choose {' or '.join(COLOR_MODES)}")
        mixing_weights(style_weights)  # all zero, or a negative one: refused before any work
        self.specs = specs
        self.styles = [_resolve(spec) for spec in specs]
        if method == "auto":  # a named style or style file implies the network it drives
            method = "cin" if any(isinstance(s, Style) for s in self.styles) else "adain"
        if preserve_color == "histogram" and any(isinstance(s, Style) for s in self.styles):
            raise OptionError("preserve_color", "histogram recolours style images, and a named style has none; "
                                                "use luminance")
        if style_size is not None:
            options["style_size"] = style_size  # each method sizes its own style input
        if max_size is not None and max_size < MIN_MAX_SIZE:
            raise OptionError("max_size", f"must be at least {MIN_MAX_SIZE}, got {max_size}")
        check_side("max_size", max_size)
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        methods.configure(method, **options)  # unknown options and bounds first: they name the method
        if options.get("mask") is not None and len(specs) != 2:
            raise OptionError("mask", f"needs exactly two styles (white areas, black areas), got {len(specs)}")
        if options.get("precision") == "fp16" and self.device.type == "cpu":
            raise OptionError("precision", "fp16 has no fast arithmetic on a CPU (it runs many times slower than "
                                           "fp32 there); use fp32, or bf16 on a processor with bf16 instructions")
        self.method = methods.create(method, self.device, **options)
        self.preserve_color = preserve_color
        self.style_weights = [float(w) for w in style_weights]
        if max_size is None and options.get("size") is None:  # the method's bound, if it has one
            max_size = self.method.default_max_size
        self.max_size = max_size
        self._prepared: Any = None

    @property
    def settings(self) -> dict[str, Any]:
        """Everything that decides the pictures this stylizer makes, as JSON values: a batch keeps
        it beside each output, so a rerun with other settings knows the output is not its own."""
        config = {f.name: getattr(self.method.config, f.name) for f in dataclasses.fields(self.method.config)}
        styles = [_identity(spec, style, style_cache.digest)
                  for spec, style in zip(self.specs, self.styles, strict=True)]
        return {"method": self.method.name, "styles": styles,
                "style_weights": self.style_weights, "preserve_color": self.preserve_color,
                "max_size": self.max_size, **config}

    def prepare(self, content: torch.Tensor) -> Any:
        """The styles made ready for this content. They depend on it only when colour is preserved;
        otherwise they are prepared once and reused. A video prepares once, on its first frame."""
        if self.preserve_color is None and self._prepared is not None:
            return self._prepared
        recolour = {"histogram": ops.match_color, "luminance": ops.match_luminance}.get(
            self.preserve_color or "", lambda style, _content: style)
        painting = self.styles[0]
        if (self.preserve_color is None and len(self.styles) == 1 and isinstance(painting, Path)
                and style_cache.cacheable(self.method)):  # from the cache, the painting not even decoded
            prepared = style_cache.load_or_prepare(self.method, style_cache.digest(painting),
                                                   lambda: self.method.prepare(self._decoded(), self.style_weights))
        else:
            styles = [recolour(s, content) if isinstance(s, torch.Tensor) else s for s in self._decoded()]
            prepared = self.method.prepare(styles, self.style_weights)
        if self.preserve_color is None:
            self._prepared = prepared
        return prepared

    def _decoded(self) -> list[torch.Tensor | Style]:
        """The styles with every painting file decoded (once: they are the stylizer's own)."""
        self.styles = [load_image(s).rgb if isinstance(s, Path) else s for s in self.styles]
        return self.styles  # type: ignore[return-value]

    def working(self, rgb: torch.Tensor) -> torch.Tensor:
        """The picture at the size the method works at (`max_size`), on the device."""
        if self.max_size and max(rgb.shape[-2:]) > self.max_size:  # bound the working resolution
            rgb = fit(rgb, self.max_size)
        return rgb.to(self.device)

    def _run(self, rgb: torch.Tensor, progress: ProgressCallback | None = None, *,
             prepared: Any = None, shot: ShotHook | None = None,
             alpha: float | torch.Tensor | None = None) -> torch.Tensor:
        """The method on pictures of one size at the working size, colours handled around it."""
        if prepared is None:
            prepared = self.prepare(rgb[:1])
        source = ops.luminance(rgb) if self.preserve_color == "luminance" else rgb
        try:
            out = self.method.apply(source, prepared, progress, shot=shot, alpha=alpha)
        except Interrupted as stop:
            if stop.image is None:
                raise
            raise Interrupted(self._recolour(stop.image, rgb)) from None
        return self._recolour(out, rgb)

    def _recolour(self, out: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        if self.preserve_color == "luminance":
            return ops.with_luminance_of(out, resize(content, tuple(out.shape[-2:])))
        return out

    def frames(self, batch: torch.Tensor, *, prepared: Any = None, shot: ShotHook | None = None) -> torch.Tensor:
        """Consecutive frames of a video (Nx3xHxW, 0..1) through the method as one batch; the
        result at the working size. `prepared` (from `prepare` on the video's first frame) keeps
        the styles of one video the same from batch to batch; `shot` normalises the frames with
        their shot's statistics (`temporal.ShotStatistics`). Both belong to the call: one Stylizer
        can serve several videos at once."""
        return self._run(self.working(batch), prepared=prepared, shot=shot)

    def many(self, images: Sequence[LoadedImage]) -> list[Image.Image]:
        """Several photos at once: those of one working size go through the network as one batch."""
        return stylize_many([(self, image, None) for image in images])

    def __call__(self, content: ImageSource | LoadedImage, progress: ProgressCallback | None = None, *,
                 alpha: float | None = None) -> Image.Image:
        """One picture; `alpha` replaces the stylizer's strength for this call only."""
        loaded = content if isinstance(content, LoadedImage) else load_image(content)
        try:
            return to_pil(self._run(self.working(loaded.rgb), progress, alpha=alpha), loaded.alpha)
        except Interrupted as stop:
            if stop.image is None:
                raise
            raise Interrupted(to_pil(stop.image, loaded.alpha)) from None


Work = tuple[Stylizer, LoadedImage, float | None]  #: a photo, its stylizer and its strength (None: the stylizer's)


def stylize_many(work: Sequence[Work]) -> list[Image.Image]:
    """Photos, each with its own stylizer and strength, in as few network passes as the method allows.

    Photos of one working size go through the network as one batch (worth it on a GPU) when their
    stylizers share a method and its settings: one stylizer's styles serve all, or, for a method
    that takes a prepared painting per picture (adain and cin: `stack`), each picture keeps its
    own painting and strength, so a dataset's random paintings cost what one style for all costs.
    Colour preservation changes the styles per photo, so those go one by one.
    """
    if not work:
        return []
    first = work[0][0]
    stylizers = {id(s): s for s, _, _ in work}
    alone = len(work) < 2 or not first.method.batches or any(s.preserve_color for s in stylizers.values())
    shared = len(stylizers) == 1 and all(a is None for _, _, a in work)
    if not alone and not shared:
        stackable = hasattr(first.method, "stack")
        alone = not stackable or any(type(s.method) is not type(first.method) or s.method.config != first.method.config
                                     or s.max_size != first.max_size for s in stylizers.values())
    if alone:
        return [stylizer(image, alpha=a) for stylizer, image, a in work]
    rgbs = [stylizer.working(image.rgb) for stylizer, image, _ in work]
    results: list[Image.Image | None] = [None] * len(work)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, rgb in enumerate(rgbs):
        by_size.setdefault(tuple(rgb.shape), []).append(i)
    for indices in by_size.values():
        batch = torch.cat([rgbs[i] for i in indices])
        if shared:
            out = first._run(batch)
        else:
            prepared = first.method.stack([work[i][0].prepare(rgbs[i]) for i in indices])
            alpha = torch.tensor([first.method.config.alpha if work[i][2] is None else work[i][2] for i in indices])
            out = first._run(batch, prepared=prepared, alpha=alpha)
        for row, i in enumerate(indices):
            results[i] = to_pil(out[row:row + 1], work[i][1].alpha)
    return results  # type: ignore[return-value]


def _identity(spec: StyleSpec, resolved: torch.Tensor | Style | Path, digest: Callable[[Path], str]) -> str:
    """A style as settings name it, with a hash of what it is made of: a painting replaced, or a
    style retrained, under the same name is another style."""
    if isinstance(resolved, Style):
        made_of = json.dumps([resolved.vector, resolved.sha256]).encode()
        return f"{resolved.name}:{hashlib.sha256(made_of).hexdigest()[:16]}"
    if isinstance(spec, (str, os.PathLike)) and Path(spec).is_file():
        return f"{spec}:{digest(Path(spec))[:16]}"
    assert isinstance(resolved, torch.Tensor)
    pixels = resolved.mul(255).round().to(torch.uint8).numpy().tobytes()
    return "image:" + hashlib.sha256(pixels).hexdigest()[:16]


def _resolve(spec: StyleSpec) -> torch.Tensor | Style | Path:
    """A CIN style (a .json file or a style's name); a painting file, checked now and decoded when it
    is first prepared (a cached preparation never decodes it); or a picture as a tensor."""
    if isinstance(spec, Style):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        if Path(spec).suffix.lower() == ".json":
            return Style.load(spec)
        if styles_module.is_name(str(spec)):
            return styles_module.find(str(spec))
        check_image(spec)
        return Path(spec)
    return load_image(spec).rgb


def stylize(content: ImageSource, styles: StyleSpec | Sequence[StyleSpec], *,
            method: str = "auto", progress: ProgressCallback | None = None,
            **options: Any) -> Image.Image:
    """Stylize one image; see `Stylizer` for the options.

    >>> stylize("photo.jpg", "painting.jpg", method="cin").save("out.jpg")
    >>> stylize("photo.jpg", "painting.jpg", method="gatys", size=256).save("out.jpg")

    method="auto" picks cin for named styles and style files, adain for images.
    """
    return Stylizer(styles, method=method, **options)(content, progress)
