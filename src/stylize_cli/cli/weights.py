"""`stylize weights ...`: list, fetch, verify and locate the checkpoints of the manifest."""

from __future__ import annotations

import json
import sys

import click

from ..errors import ExitStatus
from .console import download_bars, say, table


@click.group()
def weights() -> None:
    """List, fetch and verify the pretrained weights (weights_manifest.json)."""


@weights.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry on stdout.")
def weights_list(as_json: bool) -> None:
    """Every checkpoint stylize uses, and whether it is here (size only; `verify` hashes)."""
    from .. import weights as w

    rows = []
    for entry in w.load_manifest().values():
        states = {w.quick_state(entry, f) for f in entry.files}
        rows.append({"name": entry.name, "bundled": entry.bundled, "size": sum(f.size for f in entry.files),
                     "status": "ok" if states == {"ok"} else ", ".join(sorted(states - {"ok"})),
                     "licence": entry.licence, "description": entry.description})
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    table("name", "size", "where", "status", "licence",
          rows=[[r["name"], f"{r['size'] / 1e6:.1f} MB", "package" if r["bundled"] else "cache", r["status"],
                 r["licence"]] for r in rows])


@weights.command("fetch")
@click.argument("names", nargs=-1)
def weights_fetch(names: tuple[str, ...]) -> None:
    """Download NAMES (default: every downloadable entry) into the cache and verify them."""
    from .. import weights as w

    manifest = w.load_manifest()
    names = names or tuple(n for n, e in manifest.items() if not e.package)
    with download_bars() as bars:
        for name in names:
            folder = w.fetch(name, manifest=manifest, progress=bars)
            say(f"{name}: ok ({folder})")


@weights.command("verify")
@click.argument("names", nargs=-1)
def weights_verify(names: tuple[str, ...]) -> None:
    """Check the sha256 of every cached file; exit 1 if any is corrupt (or missing, when named)."""
    from .. import weights as w

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
    from .. import weights as w

    if name is None:
        click.echo(w.cache_dir())
        return
    entry = w.get_entry(name)
    click.echo(w.local_path(entry, entry.files[0]).parent)
