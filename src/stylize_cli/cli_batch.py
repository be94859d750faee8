"""`stylize run IN... -o OUT_DIR`: many photos from shell scripts and cluster jobs.

Human output (a progress bar, one line per failure, the summary) goes to stderr;
`--json` writes one record per job to stdout. Exit status 0 when everything is
done or skipped, 3 when some images failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .batch import DEFAULT_NAME, parse_shard, plan, run, style_label


def run_batch(inputs: list[Path], styles: list[Path], style_weights: list[float] | None, method: str,
              out_dir: Path, options: dict[str, Any], *, recursive: bool, pattern: str | None,
              extensions: tuple[str, ...], template: str | None, mix: bool, overwrite: bool,
              fail_fast: bool, as_json: bool, shard: str | None) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .api import Stylizer
    from .errors import InputError

    quiet = options.pop("quiet", False)
    common = {k: options.pop(k, None) for k in ("preserve_color", "style_size", "max_size")}
    device = options.pop("device", None) or "auto"
    method_options = {k: v for k, v in options.items() if v is not None}
    mix = mix or bool(style_weights)
    jobs = plan(inputs, out_dir, styles, mix=mix, recursive=recursive, pattern=pattern,
                extensions=extensions or None, template=template or DEFAULT_NAME, shard=parse_shard(shard))
    if not jobs:
        raise InputError("no images to stylize in " + ", ".join(str(i) for i in inputs)
                         + (f" (shard {shard})" if shard else ""))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror})") from None
    labels = {job.style for job in jobs}
    if mix:
        stylizers = {"mix": Stylizer(styles, method=method, style_weights=style_weights, device=device,
                                     **common, **method_options)}
    else:
        stylizers = {style_label(s): Stylizer(s, method=method, device=device, **common, **method_options)
                     for s in styles if style_label(s) in labels}
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=quiet or not console.is_terminal) as bar:
        task = bar.add_task("stylizing", total=len(jobs))

        def record(entry: dict[str, object]) -> None:
            bar.advance(task)
            if entry["status"] == "failed":
                click.echo(f"stylize: error: {entry['error']}", err=True)
            if as_json:
                click.echo(json.dumps(entry))

        # On a GPU a pass over 8 photos costs little more than over one; on a CPU it does not help.
        batch_size = 8 if next(iter(stylizers.values())).device.type == "cuda" else 1
        report = run(jobs, stylizers, overwrite=overwrite, fail_fast=fail_fast, on_record=record,
                     batch_size=batch_size)
    if not quiet:
        click.echo(f"stylize: {report.summary()}; outputs in {out_dir}", err=True)
    return report.exit_status

