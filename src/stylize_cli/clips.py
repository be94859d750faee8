"""Video clips made from a still photo by a known camera move, with their exact optical flow.

A stabiliser can only be measured against the true motion: estimated flow would
measure the flow estimator too. A pan slides a window across the photo by whole
pixels, a zoom narrows it about the centre, so where every pixel of frame t was in
frame t-1 is known exactly, and so is which pixels were outside it. The clips carry
a sine tone, so a test can check the sound survives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class Clip:
    frames: list[np.ndarray]  #: HxWx3 uint8, as encoded (before compression)
    #: per frame t >= 1: HxWx2 flow from frame t to frame t-1 in pixels, and the pixels visible in both
    flows: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)


def camera_move(photo: Image.Image, motion: str, frames: int, size: tuple[int, int]) -> Clip:
    """`frames` views of `photo` at `size` (width, height): "pan" left to right by whole pixels,
    or "zoom" in about the centre by 1% a frame."""
    rgb = np.asarray(photo.convert("RGB"), np.float32)
    w, h = size
    ph, pw = rgb.shape[:2]
    scale = min(pw / w, ph / h)  # the widest window of the clip's shape the photo holds
    grid_u, grid_v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    clip = Clip([])
    if motion == "pan":
        scale *= 0.8
        step = max(1, int((pw - w * scale) / max(1, frames - 1) / scale))  # whole output pixels
        views = [(t * step * scale, (ph - h * scale) / 2, scale) for t in range(frames)]
    elif motion == "zoom":
        views = [((pw - w * scale * 0.99**t) / 2, (ph - h * scale * 0.99**t) / 2, scale * 0.99**t)
                 for t in range(frames)]
    else:
        raise ValueError(f"unknown motion '{motion}': pan or zoom")
    import cv2

    for t, (x0, y0, z) in enumerate(views):
        map_x, map_y = x0 + grid_u * z, y0 + grid_v * z
        frame = cv2.remap(rgb, map_x, map_y, cv2.INTER_AREA if z > 1 else cv2.INTER_LINEAR)
        clip.frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
        if t:
            px0, py0, pz = views[t - 1]  # the same photo point in the previous frame
            u, v = (map_x - px0) / pz, (map_y - py0) / pz
            clip.flows.append(np.stack([u - grid_u, v - grid_v], axis=-1).astype(np.float32))
            clip.masks.append((u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1))
    return clip


def write_clip(path: str | os.PathLike, frames: list[np.ndarray], fps: int = 24, tone: float | None = 440.0,
               crf: int = 12) -> None:
    """Encode `frames` as H.264 (with an AAC sine tone unless `tone` is None)."""
    import av

    with av.open(str(Path(path)), mode="w") as box:
        video = box.add_stream("libx264", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(crf)}
        sound = None
        if tone is not None:
            sound = box.add_stream("aac", rate=44100)
            sound.layout = "mono"
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                box.mux(packet)
        for packet in video.encode(None):
            box.mux(packet)
        if sound is not None and tone is not None:
            seconds = Fraction(len(frames), fps)
            t = np.arange(int(44100 * seconds)) / 44100
            samples = (0.3 * np.sin(2 * np.pi * tone * t)).astype(np.float32)[None, :]
            chunk = 1024
            for start in range(0, samples.shape[1], chunk):
                piece = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + chunk]),
                                                   format="fltp", layout="mono")
                piece.sample_rate, piece.pts = 44100, start
                for packet in sound.encode(piece):
                    box.mux(packet)
            for packet in sound.encode(None):
                box.mux(packet)


def read_frames(path: str | os.PathLike) -> list[np.ndarray]:
    """Every frame of a video as HxWx3 uint8, as displayed."""
    import av

    with av.open(str(path)) as box:
        return [frame.to_ndarray(format="rgb24") for frame in box.decode(video=0)]
