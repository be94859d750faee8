"""`stylize styles ...`: the named CIN styles, built in and the user's own."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from .console import table


@click.group()
def styles() -> None:
    """Named CIN styles: the built-in gallery and your own (STYLIZE_DATA)."""


@styles.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per style on stdout.")
def styles_list(as_json: bool) -> None:
    """Every style usable as `--style NAME`."""
    from ..styles import all_styles, user_dir

    found = all_styles()
    if as_json:
        for style in found:
            click.echo(json.dumps({"name": style.name, "origin": style.origin, "source": style.source,
                                   "licence": style.licence, "made_by": style.made_by}))
        return
    table("name", "where", "made from", "licence", caption=f"your styles: {user_dir()}",
          rows=[[s.name, s.origin, s.source, s.licence] for s in found])


@styles.command("show")
@click.argument("name")
def styles_show(name: str) -> None:
    """Everything recorded about a style, as JSON."""
    from ..styles import find

    click.echo(json.dumps(asdict(find(name)), indent=1))
