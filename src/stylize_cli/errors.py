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
    USAGE = 2  #: click's own usage errors
    PARTIAL = 3  #: a batch in which some items failed
    INTERRUPTED = 130  #: Ctrl-C (128 + SIGINT), as shells report it


class StylizeError(Exception):
    """A problem the user can fix; the message is shown as a single line."""


class InputError(StylizeError, ValueError):
    """An input image, option or output path that cannot be used."""


class WeightsError(StylizeError):
    """A checkpoint that is missing, unreachable, or fails its checksum."""


class OfflineError(WeightsError, FileNotFoundError):
    """A checkpoint is not cached and STYLIZE_OFFLINE forbids fetching it."""


class Interrupted(StylizeError):
    """Ctrl-C during an optimization; carries the image reached so far.

    Raised instead of KeyboardInterrupt so callers can still save the partial
    result (crowsonkb's style-transfer CLI does the same), then exit 130.
    """

    def __init__(self, image: Any) -> None:
        super().__init__("interrupted")
        self.image = image
