"""How a long run stops on Ctrl-C (SIGINT) or SIGTERM (`kill`, a cluster's time limit).

Training (`StopRequests`): a signal only sets a flag; the loop saves at the end
of the step and stops, so a signal never lands inside a checkpoint write. A
second signal stops at once. A SIGINT that the shell set to be ignored (a
script's background job) stays ignored.

Stylizing (`sigterm_as_interrupt`): SIGTERM behaves as Ctrl-C does, an
immediate KeyboardInterrupt; outputs are written atomically, so nothing half
written is left.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any


class StopRequests:
    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():  # signals can only be caught there
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, so a run stopped by `kill` or a cluster's
    time limit cleans up (no temporary file left, a summary, exit 130) instead of dying mid-write."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
