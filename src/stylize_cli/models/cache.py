"""Networks built once per process.

Building one means reading weights, checking their sha256 and converting them:
seconds that a batch, a benchmark or a Python program using Stylizer several
times should pay once. Networks here are frozen (eval mode, no gradients);
callers that train one build their own copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_BUILT: dict[tuple[Any, ...], Any] = {}


def clear() -> None:
    """Forget every network: the next use reads and checks its weights again."""
    _BUILT.clear()


def shared(key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """The network under `key` (its name, device, variant), built by `build` the first time."""
    if key not in _BUILT:
        _BUILT[key] = build()
    return _BUILT[key]  # type: ignore[no-any-return]
