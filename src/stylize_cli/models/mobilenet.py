"""MobileNet-v2 as a loss network: the trunk of Magenta's style predictor with named layers.

The only residual network whose weights stylize has (already converted for
`--method cin`). Wang et al. 2021 found residual networks' deep activations
peaky and smoothed them with SWAG (`ops.swag`); this one's Gram matrices are
about as flat as VGG-19's and the softmax hurts (bench/swag.py), so gatys uses
it without, with style measured no deeper than 1/8 resolution. The layers are
named by stage and channel count, after "rgb", the picture itself
(`layers.MOBILENET_LAYERS`); the forward pass stops after the deepest layer
asked for, like VGG19's."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..errors import InputError
from ..layers import MOBILENET_LAYERS, did_you_mean
from .cache import shared
from .magenta import MOBILENET_V2, load_predictor


class MobileNetFeatures(nn.Module):
    """Takes RGB in 0..1 (NCHW), the predictor's own convention."""

    def __init__(self, stem: nn.Module, blocks: nn.Sequential) -> None:
        super().__init__()
        self.stem = stem
        ends, index = [], 0
        for _, _, repeats, _ in MOBILENET_V2:  # the last block of each stage
            index += repeats
            ends.append(index)
        self.stages = nn.ModuleList(blocks[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True))

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        unknown = wanted - set(MOBILENET_LAYERS)
        if unknown:
            name = sorted(unknown)[0]
            raise InputError(f"unknown MobileNet-v2 layer '{name}'{did_you_mean(name, MOBILENET_LAYERS)}")
        deepest = max(MOBILENET_LAYERS.index(name) for name in wanted)
        x, out = image, {MOBILENET_LAYERS[0]: image}
        for name, module in zip(MOBILENET_LAYERS[1:deepest + 1], (self.stem, *self.stages), strict=False):
            x = module(x)
            out[name] = x
        return {name: out[name] for name in wanted}


def load_mobilenet(device: torch.device | str = "cpu") -> MobileNetFeatures:
    """The frozen trunk, sharing its weights with the style predictor, built once per device."""
    def build() -> MobileNetFeatures:
        predictor = load_predictor(device)
        return MobileNetFeatures(predictor.stem, predictor.blocks).eval().requires_grad_(False)

    return shared(("mobilenet-features", str(device)), build)
