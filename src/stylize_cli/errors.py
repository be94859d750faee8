"""Errors a user can cause, and the exit statuses the CLI maps them to.

Everything the user can fix (a missing file, a bad flag combination, a checksum
mismatch) raises a `StylizeError` whose message is one sentence naming the file
and the cause; `cli.py` prints it on one line. Anything else is a bug and keeps
its traceback (shown with `--debug`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  #: a StylizeError: bad input, missing weights, unwritable output
    USAGE = 2  #: a bad command line: click's usage errors and OptionError
    PARTIAL = 3  #: a batch in which some items failed
    INTERRUPTED = 130  #: Ctrl-C (128 + SIGINT), as shells report it


class StylizeError(Exception):
    """A problem the user can fix; the message is shown as a single line."""


class InputError(StylizeError, ValueError):
    """An input image, option or output path that cannot be used."""


class DiskFull(InputError):
    """No space left where outputs go: every later output would fail the same way, so a batch stops."""


class WeightsError(StylizeError):
    """A checkpoint that is missing, unreachable, or fails its checksum."""


class OfflineError(WeightsError, FileNotFoundError):
    """A checkpoint is not cached and STYLIZE_OFFLINE forbids fetching it."""


class OptionError(InputError):
    """An option value (or combination) that cannot work: the command line reports it as a usage
    error (exit 2), like a value its parser refused, before any work.

    The message names the option as the Python API does (`alpha must be at most 1`); the command
    line shows the same sentence with its flag (`--alpha must be at most 1`).
    """

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option} {problem}")
        self.option = option
        self.problem = problem


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run; carries the image reached so far, if any.

    Not a `StylizeError`: an interruption is not something the user got wrong, and every
    `except StylizeError` (a batch counting failures, say) must let it through. A subclass of
    KeyboardInterrupt, so `except Exception` does not swallow it either; callers can still save
    the partial result (crowsonkb's style-transfer CLI does the same), then exit 130.
    """

    def __init__(self, image: Any = None, note: str = "") -> None:
        super().__init__("interrupted" + (f"; {note}" if note else ""))
        self.image = image
        self.note = note  #: what was kept and how to go on, for the user
