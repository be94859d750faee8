"""stylize: neural style transfer from the command line and from Python.

    from stylize_cli import stylize
    stylize("photo.jpg", "painting.jpg", method="gatys", size=512).save("out.jpg")
"""

from .api import Stylizer, stylize
from .errors import InputError, Interrupted, StylizeError, WeightsError

__all__ = ["stylize", "Stylizer", "StylizeError", "InputError", "WeightsError", "Interrupted"]
__version__ = "0.1.0"
