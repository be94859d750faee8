"""The `stylize` command: parse, call the library, report. No model code here.

One module per command group (`run`, `styles`, `train`, `weights`), one
console for what a person sees (`console.py`), and this module, which builds
the group and turns every exception into an exit status in one place:

    0 done · 1 a StylizeError (one line naming the file and the cause)
    2 a bad command line · 3 a batch in which some photos failed
    130 Ctrl-C or SIGTERM

Tracebacks only with --debug or STYLIZE_DEBUG=1. Nothing here imports torch:
`stylize --help`, `styles list` and `weights list` never load it.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from ..errors import ExitStatus, Interrupted, OptionError, StylizeError
from .console import error, say, setup_logging
from .evaluate import evaluate
from .run import demo, run
from .styles import styles
from .train import train_decoder, train_style
from .video import video
from .weights import weights

#: API argument names whose command-line flag is not simply `--name-with-dashes`
FLAGS = {"style_weights": "--style-weight", "styles": "--style", "template": "--name", "pattern": "--glob",
         "contrastive_weight": "--contrastive", "external_weight": "--external", "learning_rate": "--lr"}


def flag(option: str) -> str:
    """The command-line flag for an API argument name (errors name arguments as the API does)."""
    return FLAGS.get(option, "--" + option.replace("_", "-"))


def _exit_for(exc: BaseException, ctx: click.Context) -> NoReturn:
    """The one mapping from an exception to what the user sees and the exit status."""
    if isinstance(exc, OptionError):  # a bound from a method's config: a usage error like click's own
        name = ctx.invoked_subcommand  # shown with that command's usage line, as click shows its own
        command = ctx.command.get_command(ctx, name) if isinstance(ctx.command, click.Group) and name else None
        message = f"{flag(exc.option)} {exc.problem}"
        raise click.UsageError(message, click.Context(command, info_name=name, parent=ctx) if command else ctx)
    if isinstance(exc, KeyboardInterrupt):  # Ctrl-C, SIGTERM (see stop.py) and Interrupted
        note = exc.note if isinstance(exc, Interrupted) and exc.note else ""
        say("stylize: interrupted" + (f"; {note}" if note else ""))
        sys.exit(ExitStatus.INTERRUPTED)
    if isinstance(exc, StylizeError):
        error(str(exc))
    else:
        error(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
    sys.exit(ExitStatus.ERROR)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        debug = ctx.params.get("debug") or os.environ.get("STYLIZE_DEBUG") == "1"
        setup_logging()
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BaseException as exc:
            if debug and not isinstance(exc, OptionError):
                raise
            _exit_for(exc, ctx)


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show full tracebacks (also STYLIZE_DEBUG=1).")
@click.version_option(package_name="stylize-cli", prog_name="stylize")
def cli(debug: bool) -> None:
    """Neural style transfer: paint a photo in the style of another picture.

    \b
    Environment: STYLIZE_CACHE (downloaded weights), STYLIZE_DATA (your styles),
    STYLIZE_MIRROR (folder or URL tried first), STYLIZE_OFFLINE=1 (never use
    the network), STYLIZE_MAX_PIXELS (decompression-bomb limit, default 100 Mpx),
    STYLIZE_CPU_BF16=0/1 (override the processor's bf16 detection),
    STYLIZE_CHANNELS_LAST=0/1 (the networks' memory layout).
    """


for _command in (run, demo, video, evaluate, styles, train_style, train_decoder, weights):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="stylize")
