"""Every method's options: one frozen dataclass per method, with its defaults and bounds.

The methods validate with these and the command line builds its help and its
usage errors from them, so a default or a limit is written once. No torch here:
`stylize --help` must not pay for loading it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ..errors import OptionError
from ..layers import (
    GATYS_STYLE_LAYERS,
    GRAM_CONTENT_LAYER,
    LAYERS,
    MOBILENET_CONTENT_LAYER,
    MOBILENET_LAYERS,
    MOBILENET_STYLE_LAYERS,
    did_you_mean,
)
from ..limits import check_side

PRECISIONS = ("auto", "fp32", "fp16", "bf16")  #: auto: devices.resolve_precision
SIDES = ("size", "style_size", "start_size", "tile")  #: long sides in px, bounded by the picture limit
LOSS_NETS = ("vgg19", "mobilenet")
NET_LAYERS = {"vgg19": LAYERS, "mobilenet": MOBILENET_LAYERS}  #: what style_layers and content_layer may name
#: adain and cin stylize pictures above this many pixels in tiles unless --tile says otherwise: one
#: pass grows with the picture, tiles stay bounded (bench/fullres.py; bench/README.md, 'Figures
#: behind defaults')
AUTO_TILE_PIXELS = 1536 * 1536
ADAIN_TILE = 512  #: adain's automatic tile: larger ones cost more memory than they save time (same)
CIN_TILE = 1024  #: cin's automatic tile
CONVERGENCE_WINDOW = 10  #: gatys: the steps over which --tolerance compares the loss


def option(default: Any, *, min: float | None = None, max: float | None = None,
           choices: tuple[str, ...] | None = None) -> Any:
    """A config field with the bounds `check` enforces (and the help shows)."""
    return field(default=default, metadata={"min": min, "max": max, "choices": choices})


def check(config: Any) -> None:
    """Refuse values outside a field's bounds, naming the option (the command line names its flag)."""
    for f in fields(config):
        value, meta = getattr(config, f.name), f.metadata
        if value is None or not meta:
            continue
        if meta["choices"] and value not in meta["choices"]:
            raise OptionError(f.name, f"{value}: choose one of {', '.join(meta['choices'])}")
        if meta["min"] is not None and value < meta["min"]:
            raise OptionError(f.name, f"must be at least {meta['min']:g}, got {value:g}")
        if meta["max"] is not None and value > meta["max"]:
            raise OptionError(f.name, f"must be at most {meta['max']:g}, got {value:g}")
        if f.name in SIDES:
            check_side(f.name, value)


def bounds(config: type, name: str) -> dict[str, Any]:
    """A field's bounds and default, for help texts."""
    f = next(f for f in fields(config) if f.name == name)
    return {**f.metadata, "default": f.default}


@dataclass(frozen=True)
class AdainConfig:
    size: int | None = option(None, min=16)  #: long side of the output; None keeps the photo's size
    style_size: int = option(512, min=32)  #: long side the paintings are seen at (stroke size follows)
    alpha: float = option(1.0, min=0, max=1)  #: 1 = full style, 0 = the photo decoded back
    precision: str = option("auto", choices=PRECISIONS)
    mask: str | None = None  #: image: white = the first style, black = the second
    decoder: str | None = None  #: a decoder file from train-decoder; None = the shipped one
    #: tiles of this many px (rounded down to a multiple of 8); None = ADAIN_TILE above
    #: AUTO_TILE_PIXELS. Same result as one pass, in bounded memory
    tile: int | None = option(None, min=64)

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class SanetConfig:
    size: int | None = option(None, min=16)  #: long side of the output; None keeps the photo's size
    style_size: int = option(512, min=32)  #: long side the paintings are seen at (stroke size follows)
    alpha: float = option(1.0, min=0, max=1)  #: 1 = full style, 0 = the photo attending to itself
    precision: str = option("auto", choices=PRECISIONS)
    decoder: str | None = None  #: a SANet file from train-decoder --arch sanet; None = the shipped one
    #: tiles of this many px (rounded down to a multiple of 16); None = ADAIN_TILE above
    #: AUTO_TILE_PIXELS. Same result as one pass, in bounded memory
    tile: int | None = option(None, min=64)

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class CinConfig:
    size: int | None = option(None, min=16)  #: long side of the output; None keeps the photo's size
    style_size: int = option(256, min=32)  #: the predictor's input (shorter side, then a centre crop)
    alpha: float = option(1.0, min=0, max=1)  #: 1 = full style, 0 = the photo's own vector
    precision: str = option("auto", choices=PRECISIONS)
    #: tiles of this many px (bounded memory, seams feathered); None = CIN_TILE above AUTO_TILE_PIXELS
    tile: int | None = option(None, min=64)

    def __post_init__(self) -> None:
        check(self)


#: gatys defaults that depend on the loss network; a None field of GatysConfig takes its network's.
#: vgg19: starting from the photo, each scale runs until its loss settles (1% over the last
#: CONVERGENCE_WINDOW steps, at most 100): a fixed 25 stopped while the loss still fell, and the
#: settled results are closer to both the painting and the photo on the validation set
#: (bench/README.md); style without relu5_1 (layers.GATYS_STYLE_LAYERS says why). mobilenet: the
#: same stop, but a coarser start (its iterations are cheap); style to 1/8 resolution and content
#: at 1/8, from the photo recoloured with the painting's palette (bench/swag.py); its content weight
#: chosen on the validation set, where 0.05 left the photo hard to make out (bench/README.md)
NET_DEFAULTS: dict[str, dict[str, Any]] = {
    "vgg19": {"start_size": 256, "iterations": 100, "tolerance": 0.01, "content_weight": 0.15, "style_weight": 2.0,
              "init": "content", "style_layers": GATYS_STYLE_LAYERS, "content_layer": GRAM_CONTENT_LAYER},
    "mobilenet": {"start_size": 128, "iterations": 100, "tolerance": 0.01, "content_weight": 0.15, "style_weight": 5.0,
                  "init": "palette", "style_layers": MOBILENET_STYLE_LAYERS,
                  "content_layer": MOBILENET_CONTENT_LAYER},
}


def shown(value: Any) -> str:
    """A default as help texts show it: floats without trailing zeros (0.15, 2), layers as a list."""
    if isinstance(value, tuple):
        return ",".join(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def net_defaults(name: str) -> str:
    """A gatys field's defaults per loss network, for help texts: 'vgg19 25, mobilenet 100'."""
    return ", ".join(f"{net} {shown(values[name])}" for net, values in NET_DEFAULTS.items())


@dataclass(frozen=True)
class GatysConfig:
    size: int = option(512, min=16)  #: long side of the output, px
    style_size: int | None = option(None, min=16)  #: style images' long side; None = as given
    start_size: int | None = option(None, min=16)  #: the coarsest scale; scales double up to `size`
    #: the most steps at the coarsest scale (each finer scale: half); fewer once the loss settles
    iterations: int | None = option(None, min=1)
    #: stop a scale when its loss fell by less than this fraction over the last CONVERGENCE_WINDOW
    #: steps; 0 runs every iteration
    tolerance: float | None = option(None, min=0, max=1)
    content_weight: float | None = option(None, min=0)
    style_weight: float | None = option(None, min=0)  #: multiplies every style's loss (and each -w)
    tv_weight: float = option(2.0, min=0)
    optimizer: Literal["lbfgs", "adam"] = option("lbfgs", choices=("lbfgs", "adam"))
    learning_rate: float | None = option(None, min=0)  #: Adam only (default 0.02)
    #: the photo, the photo recoloured with the heaviest-weighted painting's colour mean and covariance, or noise
    init: Literal["content", "palette", "noise"] | None = option(None, choices=("content", "palette", "noise"))
    pooling: Literal["max", "avg"] = option("max", choices=("max", "avg"))  #: vgg19 only
    seed: int | None = 0
    #: the network whose features define content and style: VGG-19, or MobileNet-v2 (residual, much
    #: cheaper per iteration: bench/swag.py)
    loss_net: Literal["vgg19", "mobilenet"] = option("vgg19", choices=LOSS_NETS)
    #: softmax-smoothed activations (SWAG, Wang et al. 2021, eq. 11). Off by default for both networks:
    #: on MobileNet-v2 the paper's softmax made results worse, not better (bench/swag.py)
    swag: bool = False
    style_layers: tuple[str, ...] | None = None  #: None = the loss network's defaults (layers.py)
    content_layer: str | None = None

    def __post_init__(self) -> None:
        check(self)
        for name, value in NET_DEFAULTS[self.loss_net].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        object.__setattr__(self, "style_layers", tuple(self.style_layers))  # a list from the API is fine
        known = NET_LAYERS[self.loss_net]
        names = f"{self.loss_net} ({', '.join(known[:3])} ... {known[-1]})"
        for name, asked in (("style_layers", self.style_layers), ("content_layer", (self.content_layer,))):
            unknown = [layer for layer in asked if layer not in known]
            if unknown:
                raise OptionError(name, f"{','.join(unknown)}: not a layer of {names}"
                                        f"{did_you_mean(unknown[0], known)}")
            if not asked:
                raise OptionError(name, f"is empty: name at least one layer of {names}")

    def scales(self) -> list[tuple[int, int]]:
        """(size, iterations) from coarse to fine, e.g. 1024 → 256, 512, 1024."""
        sizes = [self.size]
        while sizes[0] // 2 >= self.start_size:
            sizes.insert(0, sizes[0] // 2)
        return [(s, max(1, self.iterations >> i)) for i, s in enumerate(sizes)]


CONFIGS: dict[str, type] = {"adain": AdainConfig, "cin": CinConfig, "gatys": GatysConfig, "sanet": SanetConfig}
