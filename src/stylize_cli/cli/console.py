"""Everything the command line shows a person: one-line errors, warnings, progress bars.

All of it goes to stderr (stdout is for `--json`). On a terminal progress is a
rich bar; otherwise (a log file, a cluster job) plain lines at the first step,
every 10 s and the last step, so logs stay readable. The library never prints:
it reports through callbacks and the `stylize_cli` logger, which `setup_logging`
routes here.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import click


def say(message: str) -> None:
    click.echo(message, err=True)


def plural(count: int, noun: str) -> str:
    """`1 frame`, `2 frames`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def warn(message: str) -> None:
    say(f"stylize: warning: {message}")


def error(message: str) -> None:
    say(f"stylize: error: {message}")


class _LogLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        say(f"stylize: {record.getMessage()}")


def setup_logging() -> None:
    """The library's log messages (a download waiting on another process, say) as plain lines."""
    logger = logging.getLogger("stylize_cli")
    if not any(isinstance(h, _LogLines) for h in logger.handlers):
        logger.addHandler(_LogLines())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


class ProgressBar:
    """Steps of an optimisation or a training run (the `ProgressEvent`s of the library)."""

    def __init__(self, disable: bool, unit: str = "steps") -> None:
        self.disabled = disable
        self.unit = unit
        self.plain = False
        self.progress: Any = None
        if not disable:  # --quiet imports no rich at all
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = _stderr_console()
            self.plain = not console.is_terminal
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[losses]}"), TimeElapsedColumn(),
                                     TimeRemainingColumn(), console=console, disable=self.plain)
        self.task: Any = None
        self.stage = ""
        self.last_line = 0.0
        self.started = (0.0, 0)  #: (time, step) of the first event of the current stage

    def __enter__(self) -> ProgressBar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, event: Any) -> None:
        if self.disabled:
            return
        now = time.monotonic()
        new_stage = event.stage != self.stage
        if new_stage:
            self.stage, self.started = event.stage, (now, event.step)
        losses = " ".join(f"{k} {v:.4g}" for k, v in event.losses.items())
        done = event.step - self.started[1]  # steps since the first one seen (rate excludes start-up)
        if done > 0:
            losses += f" {done / (now - self.started[0]):.3g} {self.unit}/s"
        if self.plain:
            if event.step in (1, event.steps) or now - self.last_line >= 10:
                say(f"{event.stage} step {event.step}/{event.steps} {losses}")
                self.last_line = now
            return
        if new_stage:
            self.task = self.progress.add_task(event.stage, total=event.steps, losses="")
        self.progress.update(self.task, completed=event.step, losses=losses)


@contextlib.contextmanager
def count_bar(label: str, total: int, disable: bool) -> Iterator[Callable[[], None]]:
    """A bar over items (images of a batch); yields the function that advances it by one."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = _stderr_console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=disable or not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


@contextlib.contextmanager
def download_bars() -> Iterator[Callable[[str, int], Callable[[int, int], None]]]:
    """One bar per downloaded file; yields the `progress(label, total)` factory weights.fetch takes."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=_stderr_console()) as bars:
        def factory(label: str, total: int) -> Callable[[int, int], None]:
            task = bars.add_task(label, total=total)
            return lambda done, _total: bars.update(task, completed=done)

        yield factory


def table(*columns: str, rows: list[list[str]], caption: str | None = None) -> None:
    """A table on stdout, for `list` commands read by people (their --json is for programs)."""
    from rich.console import Console
    from rich.table import Column, Table

    # The first column holds what one types (a style's name): never cut, on a narrow terminal or a pipe.
    first = Column(columns[0], no_wrap=True, min_width=max([len(columns[0]), *(len(r[0]) for r in rows)]))
    out = Table(first, *columns[1:], caption=caption)
    for row in rows:
        out.add_row(*row)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))  # a pipe or a file: wide lines, nothing cut
    console.print(out)
