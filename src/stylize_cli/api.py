"""The Python API: load → prepare styles → apply → colour → PIL image.

The CLI is a thin layer over `stylize()` and `Stylizer`; tests call them directly.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import torch
from PIL import Image

from . import methods, ops
from .devices import pick_device
from .errors import InputError, Interrupted
from .images import ImageSource, LoadedImage, fit, load_image, resize, to_pil
from .methods import ProgressCallback

ColorMode = Literal["luminance", "histogram"]
COLOR_MODES = ("luminance", "histogram")


class Stylizer:
    """One method with its styles prepared once, applied to any number of images.

    Colour preservation is done here, around the method, so every method gets
    it: "histogram" recolours the styles to the content's colour statistics
    before they are used; "luminance" transfers style on luminance only and puts
    the content's own chrominance back afterwards (Gatys et al. 2016).
    """

    def __init__(self, styles: ImageSource | Sequence[ImageSource], *, method: str = "gatys",
                 style_weights: Sequence[float] | None = None,
                 preserve_color: ColorMode | None = None, style_size: int | None = None,
                 device: str | torch.device = "auto", **options: Any) -> None:
        sources = [styles] if isinstance(styles, (str, Image.Image)) or hasattr(styles, "__fspath__") \
            else list(styles)  # type: ignore[arg-type]
        if not sources:
            raise InputError("give at least one style image")
        if style_weights is None:
            style_weights = [1.0] * len(sources)
        if len(style_weights) != len(sources):
            raise InputError(f"{len(style_weights)} style weights given for {len(sources)} style "
                             "images; give one weight per style, in the same order")
        if preserve_color not in (None, *COLOR_MODES):
            raise InputError(f"unknown colour mode '{preserve_color}': choose {' or '.join(COLOR_MODES)}")
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.method = methods.create(method, self.device, **options)
        self.preserve_color = preserve_color
        self.style_weights = [float(w) for w in style_weights]
        self.styles = [fit(load_image(s).rgb, style_size) if style_size else load_image(s).rgb
                       for s in sources]
        self._prepared: Any = None

    def _prepare(self, content: torch.Tensor) -> Any:
        """Styles depend on the content only when colour is preserved."""
        if self.preserve_color == "histogram":
            styles = [ops.match_color(s, content) for s in self.styles]
        elif self.preserve_color == "luminance":
            styles = [ops.match_luminance(s, content) for s in self.styles]
        elif self._prepared is not None:
            return self._prepared
        else:
            styles = self.styles
        self._prepared = self.method.prepare(styles, self.style_weights)
        return self._prepared

    def __call__(self, content: ImageSource | LoadedImage,
                 progress: ProgressCallback | None = None) -> Image.Image:
        loaded = content if isinstance(content, LoadedImage) else load_image(content)
        rgb = loaded.rgb.to(self.device)
        prepared = self._prepare(rgb)
        source = ops.luminance(rgb) if self.preserve_color == "luminance" else rgb
        try:
            out = self.method.apply(source, prepared, progress)
        except Interrupted as stop:
            raise Interrupted(self._finish(stop.image, rgb, loaded.alpha)) from None
        return self._finish(out, rgb, loaded.alpha)

    def _finish(self, out: torch.Tensor, content: torch.Tensor,
                alpha: torch.Tensor | None) -> Image.Image:
        if self.preserve_color == "luminance":
            out = ops.with_luminance_of(out, resize(content, tuple(out.shape[-2:])))
        return to_pil(out, alpha)


def stylize(content: ImageSource, styles: ImageSource | Sequence[ImageSource], *,
            method: str = "gatys", progress: ProgressCallback | None = None,
            **options: Any) -> Image.Image:
    """Stylize one image; see `Stylizer` for the options.

    >>> stylize("photo.jpg", "painting.jpg", size=256, iterations=50).save("out.jpg")
    """
    return Stylizer(styles, method=method, **options)(content, progress)
