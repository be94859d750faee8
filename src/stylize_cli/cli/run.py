"""`stylize run` and `stylize demo`: one photo, or a batch (folders, globs, several photos).

Whether a run is one photo or a batch follows from the inputs alone: one file
is one photo, whatever the flags. Batch-only flags that mean nothing for one
photo are usage errors naming the flag; `--json`, `--overwrite` and `--mix`
have a meaning there (see their help). Nothing heavy is imported until a run
starts, and then only what its method needs.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from ..errors import Interrupted
from ..methods.configs import ADAIN_TILE, AUTO_TILE_PIXELS, CIN_TILE, CONFIGS, CONVERGENCE_WINDOW, net_defaults, shown
from ..stop import sigterm_as_interrupt
from .console import ProgressBar, count_bar, say

PIPE = "-"  #: as the photo: read standard input; as -o: write standard output
#: --format with -o -: what it writes (images.SAVE_FORMATS' names)
PIPE_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP", "tif": "TIFF"}
BATCH_ONLY = {"recursive": "--recursive", "pattern": "--glob", "extensions": "--ext", "template": "--name",
              "fail_fast": "--fail-fast", "shard": "--shard", "draws": "--random", "alpha_range": "--alpha-range"}
#: Options of the run itself, not of a method (the rest are handed to the method's config).
RUN_OPTIONS = ("preserve_color", "style_size", "max_size", "device", "quiet")
_GLOB = set("*?[")


def _defaults(name: str, none: dict[str, str] | None = None) -> str:
    """`[default: ...]` for an option, from the configs of the methods that take it."""
    parts = {}
    for method, config in CONFIGS.items():
        for f in fields(config):
            if f.name == name:
                parts[method] = (none or {}).get(method, "none") if f.default is None else shown(f.default)
    if len(set(parts.values())) == 1:
        return f"[default: {next(iter(parts.values()))}]"
    return "[default: " + "; ".join(f"{m} {v}" for m, v in parts.items()) + "]"


def _choices(name: str) -> click.Choice:
    return click.Choice(next(f.metadata["choices"] for c in CONFIGS.values() for f in fields(c) if f.name == name))


def _apply(options: list[Callable[..., Any]], fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(options):
        fn = option(fn)
    return fn


def method_options(methods: tuple[str, ...] = tuple(CONFIGS), without: tuple[str, ...] = (),
                   size_help: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Options handed to the method; None means "the method's default". Only those of `methods` are
    offered (video has no use for gatys's), less `without`. Bounds are checked by the method's config
    (a bad value is a usage error), so they are written there only."""
    offered = {f.name for m in methods for f in fields(CONFIGS[m])} - set(without)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        return _apply([o for name, o in _method_options(size_help).items() if name in offered], fn)

    return decorate


def _method_options(size_help: str | None) -> dict[str, Callable[..., Any]]:
    own = {"adain": "the photo's own", "cin": "the photo's own", "sanet": "the photo's own"}
    return {
        "size": click.option("--size", type=int,
                             help=size_help or f"Long side of the output in px. {_defaults('size', own)}"),
        "style_size": click.option("--style-size", type=int,
                     help="adain, sanet: the long side paintings are seen at (stroke size follows; adain: 512 "
                          "imitated the painting best on the validation set, 768 keeps more of the photo and hatches "
                          "less at a weaker style, smaller is weaker on all three). cin: the style "
                          "predictor's input (shorter side, centre crop). gatys: style images' long side at the final "
                          "scale (smaller with the photo at coarser ones). "
                          + _defaults("style_size", {"gatys": "as given"})),
        "alpha": click.option("--alpha", type=float,
                     help="adain, cin, sanet: style strength; below 1 blends toward the photo's own features "
                          "(adain), style vector (cin; a network style then runs as its vector) or attention to "
                          "itself (sanet). "
                          f"{_defaults('alpha')}"),
        "mask": click.option("--mask", type=click.Path(dir_okay=False),
                     help="adain: an image the photo's shape; the first --style goes where it is white, the "
                          "second where it is black."),
        "decoder": click.option("--decoder", type=click.Path(dir_okay=False),
                     help="adain, sanet: a file from `stylize train-decoder` (--arch sanet for sanet). "
                          "[default: the shipped one]"),
        "precision": click.option("--precision", type=_choices("precision"),
                     help="adain, cin, sanet: the arithmetic. auto: adain and sanet in bf16 on CUDA and on CPUs "
                          "with bf16 instructions (several times faster there, within 1.5/255 of fp32), else "
                          "fp32; cin fp32 (in bf16 it moved further from fp32). fp16 is for GPUs. gatys always "
                          "runs fp32: L-BFGS did not converge as well in bf16 "
                          "(bench/precision.py). "
                          "[default: auto]"),
        "tile": click.option("--tile", type=int,
                     help="adain, cin, sanet: stylize in tiles of this many px, so any size fits in bounded "
                          "memory (adain's and sanet's result is the same; cin feathers the seams). [default: tiles "
                          f"for pictures over {AUTO_TILE_PIXELS / 1e6:.1f} Mpx, adain and sanet {ADAIN_TILE} px, "
                          f"cin {CIN_TILE} px]"),
        "iterations": click.option("--iterations", type=int,
                                   help="gatys: the most optimizer steps at the coarsest scale; each finer scale "
                                        f"(x2) gets half. [default: {net_defaults('iterations')}]"),
        "tolerance": click.option("--tolerance", type=float,
                                  help="gatys: a scale stops once its loss fell by less than this fraction over "
                                       f"{CONVERGENCE_WINDOW} steps; 0 runs all --iterations. "
                                       f"[default: {net_defaults('tolerance')}]"),
        "start_size": click.option("--start-size", type=int,
                                   help="gatys: coarsest scale in px; scales double up to --size. "
                                        f"[default: {net_defaults('start_size')}]"),
        "content_weight": click.option("--content-weight", type=float,
                     help="gatys: higher keeps more of the photo, lower more of the painting. mobilenet's "
                          "default keeps the photo recognisable at some cost in style (bench/README.md). "
                          f"[default: {net_defaults('content_weight')}]"),
        "tv_weight": click.option("--tv-weight", type=float,
                                  help=f"gatys: smoothness (total variation). {_defaults('tv_weight')}"),
        "optimizer": click.option("--optimizer", type=_choices("optimizer"),
                     help="gatys: L-BFGS converges in fewer steps; Adam uses less memory. "
                          f"{_defaults('optimizer')}"),
        "init": click.option("--init", type=_choices("init"),
                     help="gatys: start from the photo, from the photo recoloured with the painting's palette, "
                          f"or from noise. [default: {net_defaults('init')}]"),
        "pooling": click.option("--pooling", type=_choices("pooling"), help=f"gatys: VGG pooling; avg gives smoother "
                                                                 f"results. {_defaults('pooling')}"),
        "seed": click.option("--seed", type=int, help="gatys: random seed (noise init); a batch with --random: "
                                                      f"the seed of the draw. {_defaults('seed')}"),
        "loss_net": click.option("--loss-net", type=_choices("loss_net"),
                     help="gatys: the network whose features define content and style. mobilenet: the "
                          "residual trunk of Magenta's style predictor, about 10x cheaper per iteration. "
                          f"{_defaults('loss_net')}"),
        "style_layers": click.option("--style-layers", callback=_layers, metavar="LAYER,...",
                     help="gatys: the layers whose Gram matrices are the style, comma-separated; deeper "
                          "layers copy larger shapes of the painting. vgg19 leaves out relu5_1, which pasted the "
                          "painting's largest shapes (a sheet's edge, a figure) over the photo: without it the "
                          "validation set kept much more of the photo at the same style ratio (bench/README.md). "
                          f"[default: {net_defaults('style_layers')}]"),
        "content_layer": click.option("--content-layer", metavar="LAYER",
                                      help="gatys: the layer whose features are the content. "
                                           f"[default: {net_defaults('content_layer')}]"),
        "swag": click.option("--swag/--no-swag", default=None,
                     help="gatys: smooth the loss network's activations with a softmax (SWAG, Wang et al. "
                          "2021, eq. 11). [default: off: measured worse on mobilenet, see bench/swag.py]"),
    }


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return _apply([
        click.option("--preserve-color", type=click.Choice(["luminance", "histogram"]), is_flag=False,
                     flag_value="luminance", default=None,
                     help="Keep the photo's colours. 'luminance' (the default when the flag is given "
                          "alone): style transfer on luminance only, then the photo's chrominance is "
                          "put back (Gatys et al. 2016). 'histogram': the style image is first recoloured "
                          "to the photo's colour mean and covariance."),
        click.option("--max-size", type=int, help="Downscale photos larger than this first. [default: none]"),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ], fn)


def _layers(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    """`relu1_1,relu2_1` as a tuple; which names exist is the method's config to check."""
    return None if value is None else tuple(part.strip() for part in value.split(",") if part.strip())


def _low_high(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    """`LOW,HIGH` as two numbers; the bounds are the plan's to check."""
    if value is None:
        return None
    try:
        low, high = (float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give two numbers, LOW,HIGH (e.g. 0.5,1)") from None
    return low, high


def batch_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return _apply([
        click.option("-r", "--recursive", is_flag=True, help="Batch: descend into subfolders."),
        click.option("--glob", "pattern", help="Batch: only file names matching this pattern, e.g. '*.jpg'."),
        click.option("--ext", "extensions", multiple=True, help="Batch: only these extensions (repeatable)."),
        click.option("--name", "template", help="Batch: output name template; {stem}, {style}, {suffix}, "
                                                "{ext}. [default: {stem}_{style}{suffix}]"),
        click.option("--mix", is_flag=True, help="One output per photo with the styles mixed (implied by "
                                                 "--style-weight) instead of one per style. One photo always "
                                                 "mixes its styles."),
        click.option("--overwrite", is_flag=True, help="Batch: redo outputs that already exist. One photo's "
                                                       "output is always replaced."),
        click.option("--fail-fast", is_flag=True, help="Batch: stop at the first failure."),
        click.option("--json", "as_json", is_flag=True, help="One JSON record per output on stdout (input, "
                                                             "output, style, status, seconds, error)."),
        click.option("--shard", help="Batch: K/N processes a stable 1/N of the inputs; auto/N takes K "
                                     "from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX."),
        click.option("--random", "draws", type=click.IntRange(1),
                     help="Batch: K different styles per photo, drawn from the --style pictures and folders "
                          "(Stylized-ImageNet's recipe with K=1); the draw depends only on --seed (default 0) and "
                          "the photo's path in its input folder, so reruns and every --shard agree."),
        click.option("--alpha-range", "alpha_range", callback=_low_high, metavar="LOW,HIGH",
                     help="Batch: a strength drawn per output between LOW and HIGH (adain, cin, sanet), from "
                          "--seed and the photo's path like --random's draw; recorded in --json."),
        click.option("--dry-run", is_flag=True, help="Print each planned output and whether it would be made or "
                                                     "skipped (it exists); load and write nothing."),
    ], fn)


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("-s", "--style", "styles", multiple=True, type=click.Path(path_type=Path),
              help="Style image, named style (see `stylize styles list`) or style .json; repeat to blend. A "
                   "batch also takes a folder: every picture in it is a style (see --random).")
@click.option("-w", "--style-weight", "style_weights", multiple=True, type=click.FloatRange(0),
              help="One per --style, in order. gatys: multiplies that style's loss (one value sets "
                   "the style strength; several also set the blend). cin, adain, sanet: mixing proportions. "
                   "[default: 1 each]")
@click.option("-m", "--method", default="auto", show_default=True, type=click.Choice(["auto", *CONFIGS]),
              help="adain: our trained decoder, one pass (seconds; any painting; --mask). cin: Magenta's "
                   "network, one pass (under a second; a painting, a named style or a style .json). "
                   "gatys: optimize the pixels (minutes; any style image; the closest match). sanet: "
                   "attention places the painting's patterns where they fit (seconds; any painting). auto: "
                   "adain for images, cin for named styles and style files.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="One photo: the output file (the format follows the extension: jpg, png, webp, tif), a "
                   "folder to write it in, or - for standard output. A batch: the output folder. "
                   "[default: CONTENT_stylized_STYLE.EXT in the current folder]")
@click.option("--format", "pipe_format", type=click.Choice(sorted(PIPE_FORMATS)),
              help="With -o -: the format written to standard output. [default: png]")
@method_options()
@run_options
@batch_options
def run(inputs: tuple[Path, ...], styles: tuple[Path, ...], style_weights: tuple[float, ...],
        method: str, output: Path | None, **options: Any) -> None:
    """Stylize INPUTS (a photo, several, folders or globs) in the style of each --style.

    Without arguments, runs the demo on the sample images shipped with stylize.
    """
    batch = {k: options.pop(k) for k in (*BATCH_ONLY, "mix", "overwrite", "as_json", "dry_run")}
    # --seed is gatys's noise and --random's draw: the draw takes it, and only gatys keeps it as well
    batch["draw_seed"] = options["seed"] or 0
    if (batch["draws"] or batch["alpha_range"]) and method != "gatys":
        options["seed"] = None
    pipe_format = options.pop("pipe_format")
    to_stdout = output is not None and str(output) == PIPE
    if pipe_format and not to_stdout:
        raise click.UsageError("--format sets what -o - writes to standard output; a file's extension sets "
                               "its own format")
    if to_stdout and (batch["as_json"] or is_batch(inputs)):
        raise click.UsageError("-o - writes one picture to standard output: not with --json (also on standard "
                               "output) and not for a batch")
    if not inputs and not styles:
        given = [BATCH_ONLY[k] for k in BATCH_ONLY if batch[k]]
        if given:
            raise click.UsageError(f"{given[0]} applies to batches; the demo stylizes one photo")
        return _demo(output, options, batch["as_json"])
    if not inputs or not styles:
        raise click.UsageError("give a CONTENT image and at least one --style (or no arguments for the demo)")
    if style_weights and len(style_weights) != len(styles):
        raise click.BadParameter(f"{len(style_weights)} values for {len(styles)} --style images; "
                                 "give one per style, in the same order", param_hint="--style-weight")
    with sigterm_as_interrupt():
        if is_batch(inputs):
            if output is None:
                raise click.UsageError("a batch (folders, globs or several photos) needs -o OUT_DIR")
            from ..images import SAVE_FORMATS

            if output.suffix.lower() in SAVE_FORMATS and not output.is_dir():
                raise click.UsageError(f"-o {output}: a batch writes into a folder, and this names an image "
                                       "file; give a folder")
            sys.exit(_batch(list(inputs), list(styles), list(style_weights) or None, method, output,
                            options, **batch))
        given = [BATCH_ONLY[k] for k in BATCH_ONLY if batch[k]]
        if given:
            raise click.UsageError(f"{given[0]} applies to batches (folders, globs or several photos), "
                                   f"not to one photo ({inputs[0]})")
        content = inputs[0]
        if not to_stdout and (output is None or output.is_dir() or not output.suffix):  # a folder, made if need be
            output = (output or Path()) / _default_name(content, styles, style_weights)
        if batch["dry_run"]:
            return _print_plan([(content, output, "exists" if output.exists() else "planned")], batch["as_json"])
        stylize_one(content, list(styles), list(style_weights) or None, method, output, options, batch["as_json"],
                    pipe_format or "png")


def is_batch(inputs: tuple[Path, ...]) -> bool:
    """Several inputs, a folder, or a pattern that is not itself a file's name."""
    if not inputs:
        return False
    first = inputs[0]
    return len(inputs) > 1 or first.is_dir() or (not first.exists() and bool(_GLOB & set(str(first))))


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), help="[default: stylize-demo.jpg]")
@method_options(without=("mask",))  # the demo has one painting; a mask splits two
@run_options
def demo(output: Path | None, **options: Any) -> None:
    """Stylize a sample photo shipped with stylize in the style of Matisse (adain: seconds on a CPU)."""
    with sigterm_as_interrupt():
        _demo(output, options, as_json=False)


def _demo(output: Path | None, options: dict[str, Any], as_json: bool) -> None:
    from ..methods import accepts
    from ..samples import PAINTING, PHOTOS, data_path

    given = [k for k, v in options.items() if v is not None and k not in RUN_OPTIONS]
    # The default method, unless an option only gatys has (--iterations, ...) asks for gatys.
    method = "gatys" if any(accepts("gatys", k) and not accepts("adain", k) for k in given) else "adain"
    say(f"Demo: {PHOTOS[0]} in the style of Matisse's Woman with a Hat ({method}).")
    stylize_one(data_path(PHOTOS[0]), [data_path(PAINTING)], None, method, output or Path("stylize-demo.jpg"),
                options, as_json)


def _default_name(content: Path, styles: tuple[Path, ...], weights: tuple[float, ...]) -> str:
    """`photo_stylized_a.jpg`; a mix names every style, with its weight when they differ
    (`photo_stylized_a2+b1.jpg`), so two mixes never take one name."""
    from ..batch import style_label
    from ..images import SAVE_FORMATS

    suffix = content.suffix.lower() if content.suffix.lower() in SAVE_FORMATS else ".png"
    shown = [f"{w:g}" for w in weights] if len(set(weights)) > 1 else [""] * len(styles)
    label = "+".join(style_label(style) + w for style, w in zip(styles, shown, strict=True))
    return f"{'stdin' if str(content) == PIPE else content.stem}_stylized_{label}{suffix}"


def _print_plan(plan: list[tuple[Path, Path, str]], as_json: bool) -> None:
    """--dry-run: what a run would write, on stdout (a table for people, JSON lines for scripts)."""
    for source, target, status in plan:
        if as_json:
            click.echo(json.dumps({"input": str(source), "output": str(target), "status": status}))
        else:
            click.echo(f"{'skip' if status == 'exists' else 'make'}  {source} -> {target}")
    if not as_json:
        skipped = sum(status == "exists" for _, _, status in plan)
        say(f"stylize: dry run: {len(plan) - skipped} to make, {skipped} would be skipped (they exist)")


def split_options(options: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(quiet, keyword arguments for Stylizer): unset options are left to the method's config."""
    from ..devices import use_all_cores

    use_all_cores()  # a process-wide setting: the command line's to make, not the library's
    quiet = options.pop("quiet", False)
    return quiet, {k: v for k, v in options.items() if v is not None}


def stylize_one(content: Path, styles: list[Path], style_weights: list[float] | None, method: str,
                output: Path, options: dict[str, Any], as_json: bool, pipe_format: str = "png") -> None:
    """One photo; `-` as the content reads standard input, as the output writes standard output."""
    from ..api import Stylizer
    from ..atomic import refuse_replacing
    from ..batch import record
    from ..images import check_writable, encode, load_bytes, load_image, save_image

    quiet, kwargs = split_options(dict(options))
    to_stdout, from_stdin = str(output) == PIPE, str(content) == PIPE
    if not to_stdout:
        read = [c for c in (content, *styles, options.get("mask"), options.get("decoder")) if str(c) != PIPE]
        refuse_replacing(output, read)
        check_writable(output)
    start = time.perf_counter()
    image = load_bytes(sys.stdin.buffer.read(), PIPE) if from_stdin else load_image(content)
    stylizer = Stylizer(styles, method=method, style_weights=style_weights, **kwargs)
    if not quiet:
        say(f"Stylizing {'standard input' if from_stdin else content} with {stylizer.method.name} on "
            f"{stylizer.device}…")

    def write(picture: Any) -> None:
        if to_stdout:  # whole or nothing: encoded in memory, then written at once
            buffer = io.BytesIO()
            encode(picture, PIPE_FORMATS[pipe_format], buffer)
            stdout = sys.stdout.buffer
            stdout.write(buffer.getvalue())
            stdout.flush()
        else:
            save_image(picture, output)

    with ProgressBar(disable=quiet) as bar:
        try:
            result = stylizer(image, progress=bar.update)
        except Interrupted as stop:
            if to_stdout:
                raise Interrupted(note="nothing written to standard output") from None
            if stop.image is None:
                raise
            save_image(stop.image, output)
            raise Interrupted(note=f"wrote the image so far to {output}") from None
    write(result)
    seconds = time.perf_counter() - start
    if as_json:
        label = "mix" if len(styles) > 1 else Path(str(styles[0])).stem
        click.echo(json.dumps(record(content, output, label, "done", seconds, None)))
    if not quiet:
        where = f"{pipe_format.upper()} to standard output" if to_stdout else str(output)
        say(f"Wrote {where} ({result.width}x{result.height}, {seconds:.0f} s on {stylizer.device}).")


def _batch(inputs: list[Path], styles: list[Path], style_weights: list[float] | None, method: str,
           out_dir: Path, options: dict[str, Any], *, recursive: bool, pattern: str | None,
           extensions: tuple[str, ...], template: str | None, mix: bool, overwrite: bool,
           fail_fast: bool, as_json: bool, shard: str | None, dry_run: bool, draws: int | None,
           draw_seed: int, alpha_range: tuple[float, float] | None) -> int:
    """Many photos from shell scripts and cluster jobs; returns the exit status (0, 3 or 130)."""
    from ..api import Stylizer
    from ..batch import DEFAULT_NAME, expand_styles, is_complete, parse_shard, plan, style_label
    from ..batch import run as run_jobs
    from ..errors import InputError
    from ..recent import Recent

    quiet, kwargs = split_options(dict(options))
    mix = mix or bool(style_weights)
    jobs = plan(inputs, out_dir, styles, mix=mix, recursive=recursive, pattern=pattern,
                extensions=extensions or None, template=template or DEFAULT_NAME, shard=parse_shard(shard),
                draws=draws, seed=draw_seed, alpha_range=alpha_range)
    if not jobs:
        raise InputError("no images to stylize in " + ", ".join(str(i) for i in inputs)
                         + (f" (shard {shard})" if shard else "") + _subfolder_hint(inputs, recursive))
    if dry_run:
        _print_plan([(j.input, j.output, "exists" if not overwrite and is_complete(j.output) else "planned")
                     for j in jobs], as_json)
        return 0
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    pictures = expand_styles(styles)
    stylizers: Any
    if mix:
        stylizers = {"mix": Stylizer(pictures, method=method, style_weights=style_weights, **kwargs)}
    else:
        by_label = {style_label(s): s for s in pictures}
        stylizers = Recent(lambda label: Stylizer(by_label[label], method=method, **kwargs), keep=16)
    with count_bar("stylizing", len(jobs), disable=quiet) as advance:
        def report_one(entry: dict[str, object]) -> None:
            advance()
            if entry["status"] == "failed":
                say(f"stylize: error: {entry['error']}")
            if as_json:
                click.echo(json.dumps(entry))

        # On a GPU a pass over 8 photos costs little more than over one; on a CPU it does not help.
        batch_size = 8 if stylizers[jobs[0].style].device.type == "cuda" else 1
        report = run_jobs(jobs, stylizers, overwrite=overwrite, fail_fast=fail_fast, on_record=report_one,
                          batch_size=batch_size)
    if not quiet or report.interrupted or report.stopped:
        say(f"stylize: {report.summary()}; outputs in {out_dir}")
    return report.exit_status


def _subfolder_hint(inputs: list[Path], recursive: bool) -> str:
    """Folders whose images all lie in subfolders: say -r is what finds them."""
    if recursive:
        return ""
    from ..images import IMAGE_SUFFIXES

    nested = [i for i in inputs if i.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in i.rglob("*"))]
    return f"; images lie in subfolders of {', '.join(map(str, nested))}: add -r to take them" if nested else ""
