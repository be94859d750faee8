"""`stylize styles ...` and `stylize train-style`: named CIN styles and learning new ones."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path


import click

from .errors import ExitStatus, InputError, Interrupted


@click.group()
def styles() -> None:
    """Named CIN styles: the built-in gallery and your own (STYLIZE_DATA)."""


@styles.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per style on stdout.")
def styles_list(as_json: bool) -> None:
    """Every style usable as `--style NAME`."""
    from .styles import all_styles, user_dir

    found = all_styles()
    if as_json:
        for style in found:
            click.echo(json.dumps({"name": style.name, "origin": style.origin, "source": style.source,
                                   "licence": style.licence, "made_by": style.made_by}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "where", "made from", "licence", caption=f"your styles: {user_dir()}")
    for style in found:
        table.add_row(style.name, style.origin, style.source, style.licence)
    Console().print(table)


@styles.command("show")
@click.argument("name")
def styles_show(name: str) -> None:
    """Everything recorded about a style, as JSON."""
    from dataclasses import asdict

    from .styles import find

    click.echo(json.dumps(asdict(find(name)), indent=1))


@click.command("train-style")
@click.argument("style_image", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Name to save the style under (use it as --style NAME).")
@click.option("--content-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Photos to train on (searched recursively). [default: the 4 sample photos shipped "
                   "with stylize]")
@click.option("--steps", type=click.IntRange(1), default=150, show_default=True)
@click.option("--size", type=click.IntRange(64), default=256, show_default=True, help="Crop size in px.")
@click.option("--scale", type=click.IntRange(64), default=512, show_default=True,
              help="Long side of the pictures the style is made for; photos and painting are seen at it.")
@click.option("--style-weight", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Higher: more style, less of the photo.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--licence", default="", help="Licence of the painting, recorded in the style file.")
@click.option("--force", is_flag=True, help="Replace a style of the same name (even a built-in one).")
@click.option("--device", default="auto", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train_style(style_image: Path, name: str, content_dir: Path | None, steps: int, size: int,
                scale: int, style_weight: float, seed: int, licence: str, force: bool, device: str, quiet: bool) -> None:
    """Learn a new CIN style from STYLE_IMAGE: 100 numbers, every convolution frozen.

    Starts from the style predictor's vector and fits it to VGG-19 content and
    Gram style losses on random crops of photos. Interrupted runs resume when
    the same command is run again.
    """
    from .cli import _ProgressBar
    from .devices import pick_device
    from .images import load_image
    from .styles import builtin_names, user_dir
    from .train.style import TrainStyleConfig, load_photos, make_style
    from .train.style import train_style as train

    if not name.replace("_", "").replace("-", "").isalnum():
        raise click.BadParameter("use letters, digits, '_' and '-' only", param_hint="--name")
    target = user_dir() / f"{name}.json"
    if not force and (name in builtin_names() or target.exists()):
        where = "a built-in style" if name in builtin_names() else str(target)
        raise InputError(f"{name}: already {where}; choose another --name or pass --force")
    config = TrainStyleConfig(steps=steps, size=size, scale=scale, style_weight=style_weight, seed=seed)
    warn = lambda message: click.echo(f"stylize: warning: {message}", err=True)  # noqa: E731
    style = load_image(style_image).rgb
    photos = load_photos(content_dir, scale, warn)
    checkpoint = user_dir() / f".{name}.train.pt"
    start = time.perf_counter()
    with _ProgressBar(disable=quiet) as bar:
        try:
            result = train(style, photos, config, pick_device(device), checkpoint, bar.update,
                           log=lambda m: click.echo(m, err=True))
        except Interrupted:
            click.echo(f"stylize: interrupted; progress kept in {checkpoint}, run the same command "
                       "to resume", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
    command = (f"stylize train-style {shlex.quote(style_image.name)} --name {name} --steps {steps} "
               f"--size {size} --scale {scale} --style-weight {style_weight} --seed {seed}"
               + (f" --content-dir {shlex.quote(str(content_dir))}" if content_dir else ""))
    saved = make_style(name, result, style_image.name, licence, command).save(target)
    checkpoint.unlink(missing_ok=True)
    click.echo(f"Saved style '{name}' to {saved} ({time.perf_counter() - start:.0f} s); "
               f"use it with: stylize run PHOTO --style {name}", err=True)


