"""The largest picture stylize makes or reads, in one place: the decompression-bomb guard on
input files and the bound on `--size` (a picture that size would not fit either)."""

from __future__ import annotations

import os

from .errors import InputError, OptionError

#: 100 Mpx decodes to ~1.2 GB of float32; override with STYLIZE_MAX_PIXELS.
DEFAULT_MAX_PIXELS = 100_000_000


def max_pixels() -> int:
    """The limit: STYLIZE_MAX_PIXELS if set (a typo there is an error, never ignored)."""
    value = os.environ.get("STYLIZE_MAX_PIXELS", "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"STYLIZE_MAX_PIXELS={value!r}: not a positive whole number of pixels")
    return int(value)


def check_side(option: str, side: int | None) -> None:
    """A long side whose square picture would pass the limit is refused before any work, instead of
    failing in an allocation minutes later."""
    limit = max_pixels()
    if side is not None and side * side > limit:
        raise OptionError(option, f"{side} allows pictures of up to {side * side / 1e6:,.0f} megapixels, over "
                                  f"the {limit / 1e6:g} Mpx limit (STYLIZE_MAX_PIXELS raises it)")
