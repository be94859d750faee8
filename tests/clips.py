"""Test and bench clips: made from a still photo by a known camera move, with their exact optical flow.

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
    w, h = size
    photo = photo.convert("RGB")
    # Scale the photo once (antialiased) so a window of the clip's size covers most of it: then
    # the pan is a crop by whole pixels and the zoom only ever enlarges, with no aliasing to
    # change from frame to frame.
    fill = 0.8 if motion == "pan" else 1.0
    ratio = min(photo.width / w, photo.height / h) * fill
    photo = photo.resize((round(photo.width / ratio), round(photo.height / ratio)), Image.Resampling.LANCZOS)
    rgb = np.asarray(photo, np.float32)
    ph, pw = rgb.shape[:2]
    grid_u, grid_v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    clip = Clip([])
    if motion == "pan":
        step = max(1, (pw - w) // max(1, frames - 1))
        views = [(float(t * step), float((ph - h) // 2), 1.0) for t in range(frames)]
    elif motion == "zoom":
        views = [((pw - w * 0.99**t) / 2, (ph - h * 0.99**t) / 2, 0.99**t) for t in range(frames)]
    else:
        raise ValueError(f"unknown motion '{motion}': pan or zoom")
    import cv2

    for t, (x0, y0, z) in enumerate(views):
        map_x, map_y = x0 + grid_u * z, y0 + grid_v * z
        frame = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR)
        clip.frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
        if t:
            px0, py0, pz = views[t - 1]  # the same photo point in the previous frame
            u, v = (map_x - px0) / pz, (map_y - py0) / pz
            clip.flows.append(np.stack([u - grid_u, v - grid_v], axis=-1).astype(np.float32))
            clip.masks.append((u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1))
    return clip


def write_clip(path: str | os.PathLike, frames: list[np.ndarray], fps: int = 24, tone: float | None = 440.0,
               crf: int = 12, times: list[Fraction] | None = None) -> None:
    """Encode `frames` as H.264 (with an AAC sine tone unless `tone` is None); `times` (seconds) gives
    each frame its own timestamp, for a variable frame rate."""
    import av

    with av.open(str(Path(path)), mode="w") as box:
        video = box.add_stream("libx264", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(crf)}
        if times is not None:
            video.codec_context.time_base = Fraction(1, 90_000)
        sound = None
        if tone is not None:
            sound = box.add_stream("aac", rate=44100)
            sound.layout = "mono"
        for i, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if times is not None:
                picture.pts, picture.time_base = int(times[i] * 90_000), Fraction(1, 90_000)
            for packet in video.encode(picture):
                box.mux(packet)
        for packet in video.encode(None):
            box.mux(packet)
        if sound is not None and tone is not None:
            seconds = Fraction(len(frames), fps) if times is None else times[-1] + Fraction(1, fps)
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
    """Every frame of a video as HxWx3 uint8, as stored (a rotation flag is not applied;
    `stylize video` writes no flag, it turns the pixels)."""
    import av

    with av.open(str(path)) as box:
        return [frame.to_ndarray(format="rgb24") for frame in box.decode(video=0)]


def set_rotation(path: str | os.PathLike, clockwise: int) -> None:
    """Mark an MP4's video track to be shown turned `clockwise` degrees (90, 180, 270), as a phone
    does for a portrait clip: the track header's display matrix, rewritten in place."""
    import struct

    cos, sin = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[clockwise % 360]
    data = bytearray(Path(path).read_bytes())
    at = data.find(b"tkhd")
    if at < 0 or data[at + 4] != 0:
        raise ValueError(f"{path}: no version-0 track header")
    matrix = at + 4 + 40  # after version/flags, times, track id, duration, layer, group, volume
    data[matrix:matrix + 36] = struct.pack(">9i", cos << 16, sin << 16, 0, -sin << 16, cos << 16, 0, 0, 0, 1 << 30)
    Path(path).write_bytes(bytes(data))


def timestamps(path: str | os.PathLike) -> list[float]:
    """Every video frame's presentation time in seconds, in display order."""
    import av

    with av.open(str(path)) as box:
        return sorted(float(frame.time) for frame in box.decode(video=0))
