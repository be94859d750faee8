"""`stylize weights ...`: list, fetch, verify and locate the checkpoints of the manifest."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .errors import ExitStatus


@click.group()
def weights() -> None:
    """List, fetch and verify the pretrained weights (weights_manifest.json)."""


@weights.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry on stdout.")
def weights_list(as_json: bool) -> None:
    """Every checkpoint the manifest names, and whether it is here."""
    from . import weights as w

    rows = []
    for entry in w.load_manifest().values():
        status = w.verify(entry) if entry.package else {f.path: _cached_state(w, entry, f) for f in entry.files}
        state = "ok" if all(s == "ok" for s in status.values()) else ", ".join(sorted(set(status.values()) - {"ok"}))
        rows.append({"name": entry.name, "bundled": entry.bundled, "size": sum(f.size for f in entry.files),
                     "status": state, "licence": entry.licence, "description": entry.description})
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "size", "where", "status", "licence")
    for row in rows:
        table.add_row(row["name"], f"{row['size'] / 1e6:.1f} MB", "package" if row["bundled"] else "cache",
                      row["status"], row["licence"])
    Console().print(table)


def _cached_state(w: Any, entry: Any, file: Any) -> str:
    """Cheap status for `list`: size only; `verify` does the hashing."""
    path = w.local_path(entry, file)
    if not path.is_file():
        return "missing"
    return "ok" if path.stat().st_size == file.size else "corrupt"


@weights.command("fetch")
@click.argument("names", nargs=-1)
def weights_fetch(names: tuple[str, ...]) -> None:
    """Download NAMES (default: every downloadable entry) into the cache and verify them."""
    from . import weights as w

    manifest = w.load_manifest()
    names = names or tuple(n for n, e in manifest.items() if not e.package)
    with w.download_bars(enabled=True) as bars:
        for name in names:
            folder = w.fetch(name, manifest=manifest, progress=bars)
            click.echo(f"{name}: ok ({folder})", err=True)


@weights.command("verify")
@click.argument("names", nargs=-1)
def weights_verify(names: tuple[str, ...]) -> None:
    """Check the sha256 of every cached file; exit 1 if any is corrupt (or missing, when named)."""
    from . import weights as w

    manifest = w.load_manifest()
    bad = False
    for name in names or tuple(manifest):
        entry = w.get_entry(name, manifest)
        for path, state in w.verify(entry).items():
            click.echo(f"{state:8} {name}/{path}")
            bad |= state == "corrupt" or (state == "missing" and bool(names))
    if bad:
        sys.exit(ExitStatus.ERROR)


@weights.command("path")
@click.argument("name", required=False)
def weights_path(name: str | None) -> None:
    """Print the cache folder, or where NAME's files are."""
    from . import weights as w

    if name is None:
        click.echo(w.cache_dir())
        return
    entry = w.get_entry(name)
    click.echo(w.local_path(entry, entry.files[0]).parent)
