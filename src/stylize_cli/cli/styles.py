"""`stylize styles ...`: the named CIN styles, built in and the user's own."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from ..errors import InputError
from .console import count_bar, say, table, warn


@click.group()
def styles() -> None:
    """Named CIN styles: the built-in gallery and your own (STYLIZE_DATA)."""


@styles.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per style on stdout.")
def styles_list(as_json: bool) -> None:
    """Every style usable as `--style NAME`."""
    from ..styles import all_styles, user_dir

    unreadable: list[InputError] = []
    found = all_styles(unreadable)
    if as_json:
        for style in found:
            click.echo(json.dumps({"name": style.name, "kind": style.kind, "origin": style.origin,
                                   "source": style.source, "licence": style.licence, "made_by": style.made_by}))
    else:
        table("name", "kind", "where", "made from", "licence", caption=f"your styles: {user_dir()}",
              rows=[[s.name, s.kind, s.origin, s.source, s.licence] for s in found])
    for problem in unreadable:
        warn(f"unreadable, left out: {problem}")


@styles.command("show")
@click.argument("name")
def styles_show(name: str) -> None:
    """Everything recorded about a style, as JSON (a network style: its weights file and size too)."""
    from ..styles import find

    style = find(name)
    shown = {"kind": style.kind, **{k: v for k, v in asdict(style).items() if k != "vector"}}
    if style.weights:
        path = style.weights_path()
        shown["weights_bytes"] = path.stat().st_size if path.is_file() else None  # None: the file is missing
    shown["vector"] = style.vector  # last: 100 numbers after what a person reads
    click.echo(json.dumps(shown, indent=1))


@styles.command("remove")
@click.argument("name")
def styles_remove(name: str) -> None:
    """Delete one of your styles (with its network's weights, if it has one)."""
    from ..styles import remove

    for path in remove(name):
        say(f"Removed {path}")


@styles.command("rename")
@click.argument("old")
@click.argument("new")
@click.option("--force", is_flag=True, help="Replace a style of yours already called NEW.")
def styles_rename(old: str, new: str, force: bool) -> None:
    """Give one of your styles another name (use it as --style NEW from then on)."""
    from ..styles import rename

    say(f"Renamed {old} to {new}: {rename(old, new, force=force)}")


@styles.command("sheet")
@click.argument("photo", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("names", nargs=-1)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The sheet (jpg, png, webp, tif by extension).")
@click.option("--size", type=click.IntRange(32, 2048), default=256, show_default=True,
              help="Long side of each tile in px.")
@click.option("--columns", type=click.IntRange(1), help="Tiles per row. [default: as square as it gets]")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def styles_sheet(photo: Path, names: tuple[str, ...], output: Path, size: int, columns: int | None,
                 device: str, quiet: bool) -> None:
    """PHOTO in every style (or only the NAMES given), as one labelled grid, to choose by eye."""
    from ..images import check_writable, save_image
    from ..sheet import contact_sheet
    from ..styles import all_styles

    files = [n for n in names if Path(n).suffix and Path(n).exists()]
    if files:
        raise click.UsageError(f"{files[0]} is a file: the sheet takes style names (`stylize styles list`); "
                               "to try a painting, use `stylize run PHOTO -s PAINTING`")
    check_writable(output)
    total = len(names) or len(all_styles())
    with count_bar("styles", total, disable=quiet) as advance:
        sheet = contact_sheet(photo, list(names) or None, size, columns, device, lambda done, _: advance())
    save_image(sheet, output)
    if not quiet:
        say(f"Wrote {output} ({total} styles, {sheet.width}x{sheet.height}).")
