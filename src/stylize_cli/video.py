"""Stylize a video file: every frame, the same timing, size and sound, and no flicker.

PyAV (FFmpeg) decodes the input and encodes the output; audio packets are copied as
they are, frames keep their timestamps (so variable frame rates survive), and frames
of one shot go through the method in batches. The output is written to a temporary
file beside the target and renamed when it is complete; a stop request ends the file
cleanly after the frames done, so what is left is always playable. Stabilisation is
`temporal.py`'s: shot statistics inside the network, flow blending after it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from . import temporal
from .api import Stylizer
from .atomic import atomic_write, refuse_replacing, remove_leftovers
from .errors import InputError, OptionError
from .images import check_destination, resize
from .methods import ProgressCallback, ProgressEvent

#: output container by extension; H.264 in all of them but WebM (VP9)
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
#: the highest --crf each container's codec takes (H.264 0-51, VP9 0-63)
CRF_MAX = {name: 63 if name == "webm" else 51 for name in set(CONTAINERS.values())}
T = TypeVar("T")
#: the sound codecs a container can hold as they are (the sound is copied, never re-encoded);
#: mov and mkv take about anything
SOUND = {"mp4": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}, "webm": {"opus", "vorbis"}}
#: frames per pass through the network: on a GPU a batch costs little more than one frame; on a
#: CPU it costs as much per frame and holds more in memory (bench/video.py)
BATCH = {"cuda": 16}
#: the previous output's share where the flow is reliable; with the shot statistics it brings
#: the warping error well under frame-by-frame's (bench/video.py)
BLEND = 0.6


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    frames: int  #: as the container states it (0 when it does not)
    rate: Fraction
    duration: float  #: seconds
    rotation: int  #: degrees, as the display matrix says
    audio: str | None  #: the sound's codec, None when silent


@dataclass(frozen=True)
class VideoResult:
    frames: int  #: written
    cuts: int  #: shots after the first
    seconds: float
    interrupted: bool


def probe(path: str | os.PathLike) -> VideoInfo:
    """What a video holds, read from its headers and its first frame."""
    with _open(path) as box:
        if not box.streams.video:
            raise InputError(f"{path}: has no video stream")
        stream = box.streams.video[0]
        rotation = 0
        for frame in box.decode(stream):
            rotation = int(getattr(frame, "rotation", 0) or 0)
            break
        duration = float(box.duration / 1_000_000) if box.duration else float(
            (stream.duration or 0) * (stream.time_base or 0))
        return VideoInfo(stream.codec_context.width, stream.codec_context.height, stream.frames,
                         Fraction(stream.average_rate or 0), duration, rotation,
                         box.streams.audio[0].codec_context.name if box.streams.audio else None)


def stylize_video(source: str | os.PathLike, target: str | os.PathLike, stylizer: Stylizer, *,
                  crf: int = 18, stabilize: bool = True, batch: int | None = None, blend: float = BLEND,
                  progress: ProgressCallback | None = None,
                  stop: Callable[[], bool] | None = None) -> VideoResult:
    """Stylize every frame of `source` into `target` (its container from the extension).

    `batch` frames go through the network at once (default: 16 on a GPU, 1 elsewhere).
    `stop` is asked after every batch written; when it says yes the file is closed after the
    frames done (or not written at all if there are none) and the result says `interrupted`.
    """
    av = _av()
    started = time.perf_counter()
    info = probe(source)
    container = check(target, stylizer, info, crf=crf, source=source)
    remove_leftovers(Path(target).parent, {Path(target).name})
    batch = batch or BATCH.get(stylizer.device.type, 1)
    state = _Run(stylizer, temporal.ShotStatistics() if stabilize else None,
                 temporal.FlowBlend(blend) if stabilize else None)
    interrupted = False
    with _open(source) as box:
        video = box.streams.video[0]
        audio = box.streams.audio[0] if box.streams.audio else None
        # mkv and webm state no frame count: the duration at the average rate stands in for it
        total = video.frames or round(info.duration * float(info.rate))
        with atomic_write(target) as fh:
            out = _ffmpeg(target, lambda: av.open(fh, mode="w", format=container))
            try:
                encoder = _encoder(out, video, info, container, crf)
                sound = out.add_stream_from_template(audio) if audio is not None else None
                pending: list[tuple[Any, np.ndarray]] = []  # (frame, its pixels upright) of one shot

                def flush() -> bool:
                    """Encode the pending frames; True when a stop was asked for."""
                    if pending:
                        rgb = np.stack([picture for _, picture in pending])
                        for (frame, _), picture in zip(pending, state.stylize(rgb), strict=True):
                            new = av.VideoFrame.from_ndarray(picture, format="rgb24")
                            new.pts, new.time_base = state.clock(frame.pts), frame.time_base
                            _ffmpeg(target, lambda new=new: [out.mux(p) for p in encoder.encode(new)])
                            state.done += 1
                            if progress:
                                progress(ProgressEvent("frames", state.done, max(total, state.done)))
                        pending.clear()
                    return stop is not None and stop()

                for packet in _reading(source, box.demux(*[s for s in (video, audio) if s is not None])):
                    if packet.stream is audio:
                        if packet.dts is not None and sound is not None:
                            packet.stream = sound
                            _ffmpeg(target, lambda packet=packet: out.mux(packet))
                        continue
                    for frame in _ffmpeg(source, packet.decode):
                        picture = _fitted(_upright(frame), encoder.height, encoder.width)
                        if state.is_cut(picture) and flush():
                            interrupted = True
                            break
                        pending.append((frame, picture))
                        if len(pending) >= batch and flush():
                            interrupted = True
                            break
                    if interrupted:
                        break
                if not interrupted:
                    interrupted = flush()
                _ffmpeg(target, lambda: [out.mux(p) for p in encoder.encode(None)])
            finally:
                out.close()  # on every path: an error leaves no open encoder or file behind
            if state.done == 0:
                raise InputError(f"{source}: no frames stylized; nothing written")
    return VideoResult(state.done, state.cuts, time.perf_counter() - started, interrupted)


class _Run:
    """What one video's frames share: the styles prepared on its first frame, the shot's
    statistics and the previous output for the flow blend, and the counts. Kept per call, so
    one Stylizer can serve several videos at once."""

    def __init__(self, stylizer: Stylizer, shots: temporal.ShotStatistics | None,
                 flow: temporal.FlowBlend | None) -> None:
        self.stylizer, self.shots, self.flow = stylizer, shots, flow
        self.prepared: Any = None
        self.last_thumb: np.ndarray | None = None
        self.done = self.cuts = 0
        self.last_pts: int | None = None
        self.step = 1  #: the latest gap between two frames, in the stream's time base
        self.offset = 0  #: added to every timestamp after the clock restarted

    def clock(self, pts: int | None) -> int:
        """The frame's timestamp, always after the previous one: joined clips (concatenated MPEG-TS)
        start their clock again, which an mp4 cannot hold; each restart continues where the last
        frame was, one frame gap later, so the parts keep their own timing."""
        if pts is None:
            pts = (self.last_pts or 0) + self.step - self.offset
        pts += self.offset
        if self.last_pts is not None:
            if pts <= self.last_pts:
                self.offset += self.last_pts + self.step - pts
                pts = self.last_pts + self.step
            self.step = pts - self.last_pts
        self.last_pts = pts
        return pts

    def is_cut(self, picture: np.ndarray) -> bool:
        """Whether `picture` starts a new shot; the shot's statistics and flow start again there."""
        thumb = temporal.thumbnail(picture)
        cut = temporal.is_cut(self.last_thumb, thumb)
        self.last_thumb = thumb
        if cut:
            self.cuts += 1
            for state in (self.shots, self.flow):
                if state is not None:
                    state.reset()
        return cut

    def stylize(self, rgb: np.ndarray) -> list[np.ndarray]:
        """A batch of HxWx3 uint8 frames → stylized frames of the same size (uint8)."""
        h, w = rgb.shape[1:3]
        frames = torch.from_numpy(rgb).permute(0, 3, 1, 2).float().div(255)
        if self.prepared is None:
            self.prepared = self.stylizer.prepare(self.stylizer.working(frames[:1]))
        out = self.stylizer.frames(frames, prepared=self.prepared, shot=self.shots).float().clamp(0, 1)
        photos = resize(frames, tuple(out.shape[-2:])) if self.flow is not None else None
        results = []
        for i in range(len(rgb)):
            picture = out[i].permute(1, 2, 0).cpu().numpy()
            if self.flow is not None and photos is not None:
                picture = self.flow(photos[i].permute(1, 2, 0).numpy(), picture)
            if picture.shape[:2] != (h, w):  # worked at --size: back to the video's size
                import cv2

                picture = cv2.resize(picture, (w, h), interpolation=cv2.INTER_CUBIC)
            results.append((np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8))
        return results


def check(target: str | os.PathLike, stylizer: Stylizer, info: VideoInfo, *, crf: int = 18,
          source: str | os.PathLike | None = None) -> str:
    """The container for `target`; refuses, before any work, what cannot be written."""
    target = Path(target)
    container = CONTAINERS.get(target.suffix.lower())
    if container is None:
        raise InputError(f"{target}: unknown video container '{target.suffix or '(none)'}'; use one of "
                         f"{', '.join(sorted(CONTAINERS))}")
    if crf > CRF_MAX[container]:
        codec = "VP9" if container == "webm" else "H.264"
        raise OptionError("crf", f"{crf}: {codec} ({target.suffix}) takes 0-{CRF_MAX[container]}")
    if not stylizer.method.feed_forward:
        raise InputError(f"{stylizer.method.name} optimises each picture for many seconds; video needs a "
                         "feed-forward method: method adain, cin or sanet")
    if info.audio and container in SOUND and info.audio not in SOUND[container]:
        raise InputError(f"{target}: a {target.suffix} file cannot hold the input's {info.audio} sound, which "
                         "is copied as it is; write .mkv or .mov instead")
    refuse_replacing(target, [source, *stylizer.specs])
    check_destination(target)
    return container


def _reading(path: str | os.PathLike, packets: Iterator[T]) -> Iterator[T]:
    """Demuxed packets, with FFmpeg's errors as one line naming the file."""
    while True:
        packet = _ffmpeg(path, lambda: next(packets, None))
        if packet is None:
            return
        yield packet


def _ffmpeg(path: str | os.PathLike, call: Callable[[], T]) -> T:
    """FFmpeg's errors while reading or writing `path` as one line naming it."""
    av = _av()
    try:
        return call()
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: FFmpeg failed ({exc})") from None


def _fitted(picture: np.ndarray, height: int, width: int) -> np.ndarray:
    """A frame at the output's size: a stream may change resolution part-way (broadcast captures,
    joined clips), and the encoder takes one size."""
    if picture.shape[:2] == (height, width):
        return picture
    import cv2

    return cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)


def _upright(frame: Any) -> np.ndarray:
    """The frame as it is displayed: a phone's rotation flag applied to the pixels."""
    rgb = frame.to_ndarray(format="rgb24")
    quarter = round(int(getattr(frame, "rotation", 0) or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, quarter)) if quarter else rgb


def _encoder(out: Any, video: Any, info: VideoInfo, container: str, crf: int) -> Any:
    codec = "libvpx-vp9" if container == "webm" else "libx264"
    stream = out.add_stream(codec, rate=video.average_rate)
    # The input's clock, on the encoder as well as the stream: frames keep their own timestamps, so
    # a variable frame rate survives (the rate alone would give the encoder 1/average rate).
    stream.codec_context.time_base = video.time_base
    stream.time_base = video.time_base
    quarter = round(info.rotation / 90) % 2  # frames are written upright
    stream.width, stream.height = (info.height, info.width) if quarter else (info.width, info.height)
    stream.pix_fmt = "yuv444p" if stream.width % 2 or stream.height % 2 else "yuv420p"  # 4:2:0 needs even sides
    stream.options = {"crf": str(crf)} if codec == "libx264" else {"crf": str(crf), "b:v": "0"}
    return stream


def _open(path: str | os.PathLike) -> Any:
    av = _av()
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: not a video PyAV can read ({exc})") from None


def _av() -> Any:
    import av  # imported here: a photo run should not pay for loading FFmpeg

    return av
