"""stylize: neural style transfer from the command line and from Python.

    from stylize_cli import stylize
    stylize("photo.jpg", "painting.jpg", method="gatys", size=512).save("out.jpg")
"""

from __future__ import annotations

from typing import Any

from .errors import InputError, Interrupted, OptionError, StylizeError, WeightsError

__all__ = ["InputError", "Interrupted", "OptionError", "StylizeError", "Stylizer", "WeightsError", "stylize"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`stylize` and `Stylizer` load torch, so only on first use: the command line imports this
    package for `stylize --help`, which must stay fast."""
    if name in ("stylize", "Stylizer"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
