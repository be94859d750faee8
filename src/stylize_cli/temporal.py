"""Temporal stability for video: why frame-by-frame stylization flickers, and the two cures.

A feed-forward network normalises each frame with that frame's own statistics, so a
person walking into the picture changes the colours of the whole frame; and it places
its texture afresh on every frame, so texture that should move with the scene shimmers.

- `ShotStatistics`: the normalisation statistics are a running average over the shot
  (reset at a cut), so colours hold still while the camera moves.
- `FlowBlend`: each stylized frame is blended with the previous output warped by the
  optical flow between the two photos (OpenCV's DIS, no weights to download), only where
  the flow is reliable: a forward-backward check (Sundaram, Brox & Keutzer 2010) rejects
  occlusions and flow errors, so moving edges do not leave ghosts.
- `warping_error`: Lai et al. (ECCV 2018)'s measure of what is left: the mean squared
  difference between each output frame and the previous output warped to it, over the
  pixels that are visible in both.

Frames here are HxWx3 float32 numpy arrays in 0..1 (OpenCV's world), flows HxWx2 in
pixels, pointing from a pixel of the current frame to where it was in the previous one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

#: what a feed-forward method calls with a layer's statistics of a batch of frames, in order:
#: (layer key, statistics) -> the statistics to normalise with (`ShotStatistics`)
ShotHook = Callable[[str, tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]

#: weight of the running average on the statistics kept so far: a frame's own statistics
#: weigh 0.1, so after 20 frames (under a second) the first ones count for about a tenth
MOMENTUM = 0.9
#: mean absolute difference of two consecutive 64x36 grey thumbnails (0..1) above which a frame
#: starts a new shot: between what camera moves and real cuts measure (bench/README.md, 'Figures
#: behind defaults')
CUT = 0.15


class ShotStatistics:
    """Running normalisation statistics per layer, over the frames of one shot, in order.

    A method calls it with each layer's statistics of a batch of consecutive frames
    (tensors Nx C x1x1) and uses what it returns; `reset` at a cut.
    """

    def __init__(self, momentum: float = MOMENTUM) -> None:
        self.momentum = momentum
        self.state: dict[str, tuple[torch.Tensor, ...]] = {}

    def reset(self) -> None:
        self.state.clear()

    def __call__(self, key: str, stats: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        previous = self.state.get(key)
        rows = []
        for i in range(stats[0].shape[0]):
            current = tuple(s[i:i + 1] for s in stats)
            previous = current if previous is None else tuple(
                self.momentum * p + (1 - self.momentum) * c for p, c in zip(previous, current, strict=True))
            rows.append(previous)
        assert previous is not None
        self.state[key] = tuple(p.detach() for p in previous)
        return tuple(torch.cat(parts) for parts in zip(*rows, strict=True))


def thumbnail(frame: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)


def is_cut(previous: np.ndarray | None, current: np.ndarray) -> bool:
    """Whether two consecutive frames' thumbnails belong to different shots."""
    return previous is not None and float(np.abs(previous - current).mean()) > CUT * 255


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`image` (the previous frame) sampled where each pixel of the current frame came from."""
    import cv2

    where = _grid(*flow.shape[:2]) + flow
    return cv2.remap(image, where[..., 0], where[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@functools.lru_cache(maxsize=4)
def _grid(h: int, w: int) -> np.ndarray:
    """Every pixel's own (x, y): built once per frame size, not three times a frame."""
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
    grid.flags.writeable = False
    return grid


def reliable(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels whose flow to the previous frame and back returns home (HxW bool): the test of
    Sundaram et al. 2010, |b + f(x + b)|^2 < 0.01 (|b|^2 + |f|^2) + 0.5, and landing inside."""
    h, w = backward.shape[:2]
    returned = warp(forward, backward)
    error = ((backward + returned) ** 2).sum(-1)
    bound = 0.01 * ((backward ** 2).sum(-1) + (returned ** 2).sum(-1)) + 0.5
    x = np.arange(w, dtype=np.float32)[None, :] + backward[..., 0]
    y = np.arange(h, dtype=np.float32)[:, None] + backward[..., 1]
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    return (error < bound) & inside


class Flow:
    """DIS optical flow between consecutive photos (grey, at the working size)."""

    def __init__(self) -> None:
        import cv2

        self.dis: Any = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def __call__(self, current: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Flow from `current` to `previous` (both HxWx3 float 0..1)."""
        import cv2

        a, b = (cv2.cvtColor((x * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY) for x in (current, previous))
        return self.dis.calc(a, b, None)


class FlowBlend:
    """Blend each stylized frame with the previous output, warped by the photos' flow where it is
    reliable; `weight` is the previous output's share there. `reset` at a cut."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self.flow = Flow()
        self.previous: tuple[np.ndarray, np.ndarray] | None = None  #: (photo, output)

    def reset(self) -> None:
        self.previous = None

    def __call__(self, photo: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        out = stylized
        if self.previous is not None:
            last_photo, last_out = self.previous
            backward, forward = self.flow(photo, last_photo), self.flow(last_photo, photo)
            keep = reliable(backward, forward)[..., None] * self.weight
            out = (keep * warp(last_out, backward) + (1 - keep) * stylized).astype(np.float32)
        self.previous = (photo, out)
        return out


def warping_error(outputs: list[np.ndarray], flows: list[np.ndarray], masks: list[np.ndarray]) -> float:
    """Lai et al. 2018: mean over frames t >= 1 of the squared difference between output t and
    output t-1 warped by flows[t-1] (current to previous), over the pixels masks[t-1] keeps."""
    errors = []
    for t in range(1, len(outputs)):
        diff = ((outputs[t] - warp(outputs[t - 1], flows[t - 1])) ** 2).sum(-1)
        mask = masks[t - 1]
        errors.append(float((diff * mask).sum() / max(1, mask.sum())))
    return float(np.mean(errors))
