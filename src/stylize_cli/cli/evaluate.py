"""`stylize eval`: the judge as a command, to compare methods and settings on your own pictures."""

from __future__ import annotations

import json

import click

from ..layers import JUDGE_SIZE
from ..limits import check_side
from .console import table


@click.command("eval")
@click.argument("photo", type=click.Path(dir_okay=False))
@click.argument("painting", type=click.Path(dir_okay=False))
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--size", type=click.IntRange(min=32), default=JUDGE_SIZE, show_default=True,
              help="Long side every picture is judged at.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or mps.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result on stdout.")
def evaluate(photo: str, painting: str, results: tuple[str, ...], size: int, device: str, as_json: bool) -> None:
    """Score RESULTS made from PHOTO in the style of PAINTING; lower is closer for every column.

    \b
    style     Gram distance to the painting (relu1_1..relu5_1), relative to the photo's own: the photo
              scores 1, a perfect imitation 0. The sum is almost all relu4_1's; --json adds
              style_layers, each layer's own ratio (relu1_1, relu2_1: colour and fine texture)
    content   relu4_2 distance to the photo, relative to the painting's: the painting scores 1
    hatching  grey levels of the strongest periodic texture where the photo is flat (photos score
              under 2; visible streaks or a lattice in a sky 3 and more)
    """
    from ..evaluate import evaluate as score

    check_side("size", size)
    scores = score(photo, painting, list(results), size=size, device=device)
    if as_json:
        for s in scores:
            click.echo(json.dumps({**s.to_dict(), "photo": photo, "painting": painting, "size": size}))
        return
    table("result", "style", "content", "hatching",
          rows=[[s.result, f"{s.style:.3f}", f"{s.content:.3f}", f"{s.hatching:.1f}"] for s in scores])
