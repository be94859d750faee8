"""`stylize video`: a video file in, a stylized video file out (sound, timing and size kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import Interrupted
from ..methods.configs import CONFIGS
from .console import ProgressBar, plural, say
from .run import method_options, run_options, split_options

FEED_FORWARD = tuple(m for m in CONFIGS if m != "gatys")  #: video's methods (documented in the help)


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-s", "--style", "styles", multiple=True, required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Style image, named style or style .json; repeat to blend.")
@click.option("-w", "--style-weight", "style_weights", multiple=True, type=click.FloatRange(0),
              help="One per --style, in order: mixing proportions. [default: 1 each]")
@click.option("-m", "--method", default="auto", show_default=True, type=click.Choice(["auto", *CONFIGS]),
              help="adain, cin or sanet (gatys optimises each frame for many seconds and is refused). auto: "
                   "adain for images, cin for named styles and style files.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The video to write; the container follows the extension (mp4, m4v, mov, mkv: H.264; "
                   "webm: VP9).")
@click.option("--crf", type=click.IntRange(0, 63), default=18, show_default=True,
              help="Quality of the encoding: lower is better and larger (H.264, in mp4/m4v/mov/mkv: 0-51, 18 "
                   "looks lossless; VP9, in webm: 0-63).")
@click.option("--stabilize/--no-stabilize", default=True, show_default=True,
              help="Hold colours and texture still between frames: statistics over each shot and blending "
                   "along the optical flow. --no-stabilize stylizes every frame on its own.")
@click.option("--batch", type=click.IntRange(1), help="Frames per pass through the network. "
                                                      "[default: 16 on a GPU, 1 on a CPU]")
@method_options(methods=FEED_FORWARD,
                size_help="Long side the frames are stylized at (faster, softer); the output keeps the video's "
                          "size. [default: the video's own]")
@run_options
def video(source: Path, styles: tuple[Path, ...], style_weights: tuple[float, ...], method: str, output: Path,
          crf: int, stabilize: bool, batch: int | None, **options: Any) -> None:
    """Stylize every frame of the video SOURCE in the style of --style into --output.

    The output keeps the frame count, timing, size, orientation and sound of SOURCE.
    --size sets the working size (faster, softer); frames are scaled back to the video's
    size. Ctrl-C stops after the current frames and leaves a playable video of the
    frames done.
    """
    from ..api import Stylizer
    from ..stop import StopRequests
    from ..video import check, probe, stylize_video

    if style_weights and len(style_weights) != len(styles):
        raise click.BadParameter(f"{len(style_weights)} values for {len(styles)} --style images; "
                                 "give one per style, in the same order", param_hint="--style-weight")
    quiet, kwargs = split_options(dict(options))
    info = probe(source)
    stylizer = Stylizer(list(styles), method=method, style_weights=list(style_weights) or None, **kwargs)
    check(output, stylizer, info, crf=crf, source=source)
    if not quiet:
        frames = plural(info.frames, "frame") if info.frames else "frames"
        say(f"Stylizing {source} ({info.width}x{info.height}, {frames} at {float(info.rate):.3g} fps"
            f"{', with sound' if info.audio else ''}) with {stylizer.method.name} on {stylizer.device}…")
    with StopRequests() as stop, ProgressBar(disable=quiet, unit="frames") as bar:
        result = stylize_video(source, output, stylizer, crf=crf, stabilize=stabilize, batch=batch,
                               progress=bar.update, stop=lambda: stop.requested)
    if result.interrupted:
        raise Interrupted(note=f"wrote the {plural(result.frames, 'frame')} done to {output}")
    if not quiet:
        say(f"Wrote {output} ({plural(result.frames, 'frame')}, {plural(result.cuts + 1, 'shot')}, "
            f"{result.seconds:.0f} s, {result.frames / result.seconds:.2g} frames/s).")
