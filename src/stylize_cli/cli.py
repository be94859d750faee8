"""The `stylize` command: parse options, call the API, report. No model code here.

Human output (progress, summaries, errors) goes to stderr; machine output
(`--json`) to stdout. A `StylizeError` becomes one `stylize: error: ...` line
and exit status 1; Ctrl-C exits 130; `--debug` shows tracebacks instead.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from .errors import ExitStatus, StylizeError


def _fail(message: str, status: int = ExitStatus.ERROR) -> None:
    click.echo(f"stylize: error: {message}", err=True)
    sys.exit(status)


class _Group(click.Group):
    """Maps exceptions to one line and an exit status, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = ctx.params.get("debug") or os.environ.get("STYLIZE_DEBUG") == "1"
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except StylizeError as exc:
            if debug:
                raise
            _fail(str(exc))
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("stylize: interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
        except Exception as exc:
            if debug:
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show full tracebacks (also STYLIZE_DEBUG=1).")
@click.version_option(package_name="stylize-cli", prog_name="stylize")
def cli(debug: bool) -> None:
    """Neural style transfer: paint a photo in the style of another picture.

    \b
    Environment: STYLIZE_CACHE (downloaded weights), STYLIZE_MIRROR (folder or
    URL tried first), STYLIZE_OFFLINE=1 (never use the network),
    STYLIZE_MAX_PIXELS (decompression-bomb limit, default 100 Mpx).
    """


def _method_default(name: str) -> Any:
    from .methods.gatys import GatysConfig  # the defaults' single source of truth

    return {f.name: f.default for f in dataclasses.fields(GatysConfig)}[name]


def _method_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options handed to the method; None means "the method's default" (shown in help)."""
    d = _method_default
    options = [
        click.option("--size", type=click.IntRange(16),
                     help=f"Long side of the output in px. [default: gatys {d('size')}; adain the photo's own, "
                          "at most 1024; cin the photo's own]"),
        click.option("--alpha", type=click.FloatRange(0, 1),
                     help="adain, cin: style strength; below 1 blends toward the photo's own features "
                          "(adain) or style vector (cin). [default: 1]"),
        click.option("--mask", type=click.Path(dir_okay=False),
                     help="adain: an image the photo's shape; the first --style goes where it is white, the "
                          "second where it is black."),
        click.option("--decoder", type=click.Path(dir_okay=False),
                     help="adain: a decoder file from `stylize train-decoder`. [default: the shipped one]"),
        click.option("--precision", type=click.Choice(["fp32", "fp16", "bf16"]),
                     help="adain, cin: fp16/bf16 autocast, for GPUs (bf16 also runs on CPUs, slowly). "
                          "[default: adain bf16 on CUDA, fp32 elsewhere; cin fp32]"),
        click.option("--iterations", type=click.IntRange(1),
                     help=f"gatys: optimizer steps at the coarsest scale; each finer scale (x2) gets half. [default: {d('iterations')}]"),
        click.option("--start-size", type=click.IntRange(16),
                     help=f"gatys: coarsest scale in px; scales double up to --size. [default: {d('start_size')}]"),
        click.option("--content-weight", type=click.FloatRange(0), help=f"gatys: higher keeps more of the photo. [default: {d('content_weight')}]"),
        click.option("--tv-weight", type=click.FloatRange(0), help=f"gatys: smoothness (total variation). [default: {d('tv_weight')}]"),
        click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), help="gatys: L-BFGS converges in fewer steps; Adam uses less memory. [default: lbfgs]"),
        click.option("--init", type=click.Choice(["content", "noise"]), help="gatys: start from the photo or from noise. [default: content]"),
        click.option("--pooling", type=click.Choice(["max", "avg"]), help="gatys: VGG pooling; avg gives smoother results. [default: max]"),
        click.option("--seed", type=int, help=f"gatys: random seed (noise init). [default: {d('seed')}]"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--preserve-color", type=click.Choice(["luminance", "histogram"]), is_flag=False,
                     flag_value="luminance", default=None,
                     help="Keep the photo's colours. 'luminance' (the default when the flag is given "
                          "alone): style transfer on luminance only, then the photo's chrominance is "
                          "put back (Gatys et al. 2016). 'histogram': the style image is first recoloured "
                          "to the photo's colour mean and covariance."),
        click.option("--style-size", type=click.IntRange(16),
                     help="gatys: resize style images to this long side first. adain: the long side "
                          "paintings are seen at. cin: the style predictor's input size (shorter side, "
                          "centre crop). [default: gatys as given, adain 512, cin 256]"),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _batch_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options for folders of images (see cli_batch.py); any of them selects batch mode."""
    options = [
        click.option("-r", "--recursive", is_flag=True, help="Batch: descend into subfolders."),
        click.option("--glob", "pattern", help="Batch: only file names matching this pattern, e.g. '*.jpg'."),
        click.option("--ext", "extensions", multiple=True, help="Batch: only these extensions (repeatable)."),
        click.option("--name", "template", help="Batch: output name template; {stem}, {style}, {suffix}, "
                                                "{ext}. [default: {stem}_{style}{suffix}]"),
        click.option("--mix", is_flag=True, help="Batch: one output per photo with the styles mixed "
                                                 "(implied by --style-weight) instead of one per style."),
        click.option("--overwrite", is_flag=True, help="Batch: redo outputs that already exist."),
        click.option("--fail-fast", is_flag=True, help="Batch: stop at the first failure."),
        click.option("--json", "as_json", is_flag=True, help="Batch: one JSON record per job on stdout."),
        click.option("--shard", help="Batch: K/N processes a stable 1/N of the inputs; auto/N takes K "
                                     "from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX."),
        click.option("--max-size", type=click.IntRange(16), help="Downscale photos larger than this first. "
                     "[default: adain 1024 unless --size is given]"),
        click.option("--tile", type=click.IntRange(64), help="cin: stylize in tiles of this size (any "
                                                             "image size in bounded memory)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


BATCH_FLAGS = ("recursive", "pattern", "extensions", "template", "mix", "overwrite", "fail_fast", "as_json",
               "shard")


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("-s", "--style", "styles", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Style image, named style (see `stylize styles list`) or style .json; repeat to blend.")
@click.option("-w", "--style-weight", "style_weights", multiple=True, type=click.FloatRange(0),
              help="One per --style, in order. gatys: multiplies that style's loss (one value sets "
                   "the style strength; several also set the blend). cin, adain: mixing proportions. "
                   "[default: 1 each]")
@click.option("-m", "--method", default="auto", show_default=True, type=click.Choice(["auto", "adain", "cin", "gatys"]),
              help="adain: our trained decoder, one pass (seconds; any painting; --mask). cin: Magenta's "
                   "network, one pass (under a second; a painting, a named style or a style .json). "
                   "gatys: optimize the pixels (minutes; any style image; the closest match). auto: "
                   "adain for images, cin for named styles and style files.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output file; the format follows the extension (jpg, png, webp, tif); a folder for "
                   "batch runs. [default: CONTENT_stylized_STYLE.EXT in the current folder]")
@_method_options
@_common_options
@_batch_options
def run(inputs: tuple[Path, ...], styles: tuple[Path, ...], style_weights: tuple[float, ...],
        method: str, output: Path | None, **options: Any) -> None:
    """Stylize INPUTS (a photo, several, or folders) in the style of each --style.

    Without arguments, runs the demo on the sample images shipped with stylize.
    """
    if not inputs and not styles:
        return _demo(output, {k: v for k, v in options.items() if k not in BATCH_FLAGS and k not in
                              ("max_size", "tile")})
    if not inputs or not styles:
        raise click.UsageError("give a CONTENT image and at least one --style (or no arguments for the demo)")
    if style_weights and len(style_weights) != len(styles):
        raise click.BadParameter(f"{len(style_weights)} values for {len(styles)} --style images; "
                                 "give one per style, in the same order", param_hint="--style-weight")
    batch = {k: options.pop(k) for k in BATCH_FLAGS}
    single = (len(inputs) == 1 and not inputs[0].is_dir() and not any(batch.values())
              and not (output and output.is_dir()))
    if not single:
        from .cli_batch import run_batch

        if output is None:
            raise click.UsageError("batch runs need -o OUT_DIR")
        sys.exit(run_batch(list(inputs), list(styles), list(style_weights) or None, method, output,
                           options, **batch))
    content = inputs[0]
    if content.is_dir():
        raise click.UsageError(f"{content} is a folder: give -o OUT_DIR for a batch run")
    output = output or _default_output(content, styles[0])
    _stylize(content, list(styles), list(style_weights) or None, method, output, options)


@cli.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), help="[default: stylize-demo.jpg]")
@_method_options
@_common_options
def demo(output: Path | None, **options: Any) -> None:
    """Stylize the shipped sample photo with the shipped Matisse (adain: seconds on a laptop CPU)."""
    _demo(output, options)


def _demo(output: Path | None, options: dict[str, Any]) -> None:
    from . import methods
    from .samples import PAINTING, PHOTOS, data_path

    options = {k: v for k, v in options.items() if v is not None}
    # The default method, unless an option only gatys has (--iterations, ...) asks for gatys.
    gatys_only = [k for k in options if methods.accepts("gatys", k) and not methods.accepts("adain", k)]
    method = "gatys" if gatys_only else "adain"
    click.echo(f"Demo: {PHOTOS[0]} in the style of Matisse's Woman with a Hat ({method}).", err=True)
    _stylize(data_path(PHOTOS[0]), [data_path(PAINTING)], None, method, output or Path("stylize-demo.jpg"), options)


def _default_output(content: Path, style: Path) -> Path:
    from .images import SAVE_FORMATS

    suffix = content.suffix.lower() if content.suffix.lower() in SAVE_FORMATS else ".png"
    return Path(f"{content.stem}_stylized_{style.stem}{suffix}")


def _stylize(content: Path, styles: list[Path], style_weights: list[float] | None, method: str,
             output: Path, options: dict[str, Any]) -> None:
    from .api import Stylizer
    from .errors import Interrupted
    from .images import check_writable, load_image, save_image

    quiet = options.pop("quiet", False)
    common = {k: options.pop(k, None) for k in ("preserve_color", "style_size", "max_size", "device")}
    common["device"] = common["device"] or "auto"
    method_options = {k: v for k, v in options.items() if v is not None}
    check_writable(output)
    start = time.perf_counter()
    image = load_image(content)
    stylizer = Stylizer(styles, method=method, style_weights=style_weights, **common, **method_options)
    if not quiet:
        click.echo(f"Stylizing {content} with {stylizer.method.name} on {stylizer.device}…", err=True)
    with _ProgressBar(disable=quiet) as bar:
        try:
            result = stylizer(image, progress=bar.update)
        except Interrupted as stop:
            save_image(stop.image, output)
            click.echo(f"stylize: interrupted; wrote the image so far to {output}", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
    save_image(result, output)
    if not quiet:
        click.echo(f"Wrote {output} ({result.width}x{result.height}, "
                   f"{time.perf_counter() - start:.0f} s on {stylizer.device}).", err=True)


class _ProgressBar:
    """Progress on stderr: a rich bar per scale on a terminal, plain log lines otherwise.

    Plain lines (first step, every 10 s, last step) keep cluster-job logs readable.
    """

    def __init__(self, disable: bool) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        console = Console(stderr=True)
        self.plain = not disable and not console.is_terminal
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[losses]}"), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=console, disable=disable or self.plain)
        self.task: Any = None
        self.stage = ""
        self.last_line = 0.0
        self.started = (0.0, 0)  #: (time, step) of the first event of the current stage

    def __enter__(self) -> "_ProgressBar":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, event: Any) -> None:
        now = time.monotonic()
        new_stage = event.stage != self.stage
        if new_stage:
            self.stage, self.started = event.stage, (now, event.step)
        losses = " ".join(f"{k} {v:.4g}" for k, v in event.losses.items())
        done = event.step - self.started[1]  # steps since the first one seen (rate excludes start-up)
        if done > 0:
            losses += f" {done / (now - self.started[0]):.3g} steps/s"
        if self.plain:
            if event.step in (1, event.steps) or now - self.last_line >= 10:
                click.echo(f"{event.stage} step {event.step}/{event.steps} {losses}", err=True)
                self.last_line = now
            return
        if new_stage:
            self.task = self.progress.add_task(event.stage, total=event.steps, losses="")
        self.progress.update(self.task, completed=event.step, losses=losses)


def main() -> None:
    cli(prog_name="stylize")


def _register() -> None:
    from .cli_decoder import train_decoder
    from .cli_styles import styles, train_style
    from .cli_weights import weights

    for command in (weights, styles, train_style, train_decoder):
        cli.add_command(command)


_register()


if __name__ == "__main__":
    main()
