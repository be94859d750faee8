"""Style augmentation for training loops: each picture restyled with a random style and strength.

Jackson et al. (2019, "Style Augmentation") restyle training images on the fly with Ghiasi et
al.'s network (our cin): a style vector z drawn from a normal distribution fitted to paintings'
vectors (`data/style_embeddings.pt`, made by `scripts/style_embeddings.py`), mixed with the photo's
own vector by a strength a drawn per picture, z = a * z_drawn + (1 - a) * P(photo). With a folder
of paintings, each picture takes a random painting from it instead (adain as in Stylized-ImageNet,
or cin), its statistics prepared once and kept in the style cache.

The network renders even the photo's own vector in its own way (22/255 from the photo on
average), so cin's result is also blended with the photo by the strength: strength 0 returns the
photo, 1 the drawn style, and in between the style weakens both ways (bench/datasets.py has the
curve). The photo's own vector is predicted at PHOTO_SIZE, not the 256 px paintings are seen at: it
only anchors the strength, and at 256 px the predictor cost as much as the transfer itself
(bench/datasets.py). Networks load on the first call in the process that calls (a DataLoader
worker), so the module pickles small and loads nothing in the parent.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
import torch
from PIL import Image

from . import methods, style_cache
from .batch import find_inputs
from .devices import pick_device, resolve_precision
from .errors import InputError, OptionError
from .images import load_image, to_pil
from .methods.cin import CinPrepared
from .recent import Recent
from .weights import load_entry

EMBEDDINGS = "style-embeddings"  #: the manifest entry of the shipped distribution
EMBEDDINGS_FORMAT = "stylize-style-embeddings/1"
PHOTO_SIZE = 160  #: the photo's own vector: its shorter side at this size (see the module docstring)
AUGMENT_METHODS = ("cin", "adain")
KEEP_PREPARED = 512  #: paintings' prepared statistics kept in memory per process (the rest on disk)


class StyleAugment(torch.nn.Module):
    """Restyle pictures with random styles: a transform for torchvision pipelines and training loops.

    Takes a float tensor (N,3,H,W) or (3,H,W) in 0..1 on any device, or a PIL image, and returns the
    same kind, shape, dtype and device. `strength` is a float or a (low, high) range drawn from per
    picture; 0 returns the picture as it was. Draws come from the module's own generator: with a
    `seed` the sequence of calls is reproducible; in DataLoader workers each worker's generator mixes
    the seed with the worker's torch seed, so workers and epochs differ (and repeat when the loader
    is seeded). `device` runs the networks elsewhere than the input (a GPU for CPU tensors).
    """

    def __init__(self, strength: float | tuple[float, float] = (0.0, 1.0), method: str = "cin",
                 paintings: str | os.PathLike | None = None, seed: int | None = None,
                 device: str | torch.device | None = None, precision: str = "auto") -> None:
        super().__init__()
        low, high = (strength, strength) if isinstance(strength, (int, float)) else tuple(strength)
        if not 0 <= low <= high <= 1:
            raise OptionError("strength", f"must be a number or a (low, high) range within 0..1, got {strength}")
        if method not in AUGMENT_METHODS:
            raise OptionError("method", f"{method}: choose one of {', '.join(AUGMENT_METHODS)}")
        if method == "adain" and paintings is None:
            raise OptionError("paintings", "adain restyles with real paintings: give a folder of them")
        self.strength = (float(low), float(high))
        self.method = method
        self.seed = seed
        self.device = None if device is None else str(device)
        self.precision = precision
        methods.configure(method, precision=precision)  # a bad precision is refused here, not in a worker
        self.paintings: list[str] = []
        if paintings is not None:
            self.paintings = [str(p) for p, _ in find_inputs([paintings], recursive=True)]
            if not self.paintings:
                raise InputError(f"{paintings}: no images found (searched its subfolders too)")
        self._reset()

    def _reset(self) -> None:
        """What each process builds for itself on its first call."""
        self._methods: dict[torch.device, Any] = {}
        self._generator: torch.Generator | None = None
        self._owner: tuple[int, int | None] | None = None
        self._prepared: Recent[tuple[str, torch.device], Any] = Recent(self._prepare, KEEP_PREPARED)
        self._embeddings: tuple[torch.Tensor, torch.Tensor] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_methods", "_generator", "_owner", "_prepared", "_embeddings"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._reset()

    def extra_repr(self) -> str:
        pool = f", paintings={len(self.paintings)}" if self.paintings else ""
        return f"method={self.method!r}, strength={self.strength}{pool}, seed={self.seed}"

    def forward(self, images: torch.Tensor | Image.Image) -> torch.Tensor | Image.Image:
        if isinstance(images, Image.Image):  # as given: no EXIF turn or colour profile, so the size is kept
            pixels = torch.from_numpy(np.array(images.convert("RGBA"), dtype=np.uint8)).permute(2, 0, 1)
            alpha = pixels[3:].unsqueeze(0).float() / 255 if "A" in images.getbands() else None
            return to_pil(self(pixels[:3].float() / 255).unsqueeze(0), alpha)
        if not isinstance(images, torch.Tensor) or images.dim() not in (3, 4) or images.shape[-3] != 3:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise InputError(f"StyleAugment takes a PIL image or a float tensor (N,3,H,W) or (3,H,W), got {shape}")
        if not images.is_floating_point():
            raise InputError(f"StyleAugment takes float pictures in 0..1, got {images.dtype} (divide by 255 first)")
        batch = images if images.dim() == 4 else images.unsqueeze(0)
        device = pick_device(self.device) if self.device else batch.device
        out = self._restyle(batch.float().to(device), device)
        out = out.to(images.device, images.dtype)
        return out if images.dim() == 4 else out[0]

    def _restyle(self, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        method = self._method(device)
        n = batch.shape[0]
        generator = self._rng()
        low, high = self.strength
        alpha = low + (high - low) * torch.rand(n, generator=generator)
        if self.paintings:
            chosen = torch.randint(len(self.paintings), (n,), generator=generator).tolist()
            prepared = method.stack([self._prepared[self.paintings[i], device] for i in chosen])
            if self.method == "adain":
                return method.apply(batch, prepared, alpha=alpha)
            drawn = prepared.vector
        else:
            mean, scale_tril = self._distribution()
            drawn = (mean + torch.randn(n, mean.shape[0], generator=generator) @ scale_tril.T).to(device)
        with torch.no_grad():
            own = method.predict(batch, PHOTO_SIZE)
        a = alpha.to(device)[:, None]
        out = method.apply(batch, CinPrepared(a * drawn + (1 - a) * own))
        return torch.lerp(batch, out, a[..., None, None])  # see the module docstring

    def _method(self, device: torch.device) -> Any:
        if device not in self._methods:
            self._methods[device] = methods.create(self.method, device, precision=self._precision(device))
        return self._methods[device]

    def _precision(self, device: torch.device) -> str:
        return resolve_precision(self.precision, device, "augment")

    def _rng(self) -> torch.Generator:
        """The module's generator, made once per process and DataLoader worker (see the class)."""
        worker = torch.utils.data.get_worker_info()
        owner = (os.getpid(), None if worker is None else worker.id)
        if self._owner != owner:
            base = torch.initial_seed() if self.seed is None else self.seed
            if worker is not None and self.seed is not None:
                base = int.from_bytes(hashlib.sha256(f"{self.seed} {torch.initial_seed()}".encode()).digest()[:7],
                                      "little")
            self._generator = torch.Generator().manual_seed(base)
            self._owner = owner
        assert self._generator is not None
        return self._generator

    def _distribution(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._embeddings is None:
            state = load_entry(EMBEDDINGS)
            if state.get("format") != EMBEDDINGS_FORMAT:
                raise InputError(f"the shipped style embeddings are not {EMBEDDINGS_FORMAT}; reinstall stylize")
            mean = state["mean"].float()
            dim = mean.shape[0]
            scale_tril = torch.zeros(dim, dim)
            rows, cols = torch.tril_indices(dim, dim)
            scale_tril[rows, cols] = state["scale_tril"].float()
            self._embeddings = mean, scale_tril
        return self._embeddings

    def _prepare(self, key: tuple[str, torch.device]) -> Any:
        """A painting prepared for the method on a device: from the style cache, or encoded now."""
        path, device = key
        method = self._method(device)
        return style_cache.load_or_prepare(method, style_cache.digest(path),
                                           lambda: method.prepare([load_image(path).rgb], [1.0]))

