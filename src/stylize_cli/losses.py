"""Perceptual losses on VGG-19 features, built on `ops.py`.

Each loss holds its target as a buffer and is relative: the squared error
divided by the squared norm of the target. The raw Caffe VGG-19's activations
differ by orders of magnitude from layer to layer; relative errors make a
style weight mean the same thing at every layer and every image size.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import ops
from .errors import InputError
from .layers import GRAM_CONTENT_LAYER, GRAM_STYLE_LAYERS
from .models.vgg import VGG19
from .ops import relative_error


class ContentLoss(nn.Module):
    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("target", target.detach())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return relative_error(features, self.target)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.target.shape)}"


class GramLoss(nn.Module):
    """Style as Gram matrices (Gatys et al. 2016); the target may blend several styles."""

    def __init__(self, target_gram: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("target", target_gram.detach())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return relative_error(ops.gram(features), self.target)

    def extra_repr(self) -> str:
        return f"channels={self.target.shape[-1]}"


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels: discourages high-frequency noise."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def gram_distances(feats: dict[str, torch.Tensor], grams: dict[str, torch.Tensor]) -> dict[str, float]:
    """Summed squared difference of the features' Gram matrices to target Grams, per target layer."""
    return {k: float(((ops.gram(feats[k]) - g) ** 2).sum()) for k, g in grams.items()}


def gram_distance(feats: dict[str, torch.Tensor], grams: dict[str, torch.Tensor]) -> float:
    """Summed squared difference of the features' Gram matrices to target Grams, over the targets' layers."""
    return sum(gram_distances(feats, grams).values())


@torch.no_grad()
def style_distance(vgg: VGG19, image: torch.Tensor, style: torch.Tensor,
                   layers: tuple[str, ...] = GRAM_STYLE_LAYERS) -> float:
    """Summed squared Gram difference to the style over relu1_1..relu5_1.

    Gram matrices depend on the scale the style is seen at, so callers should
    pass the style resized to the image's scale (as `judge` does).
    """
    fs = vgg(style, layers)
    return gram_distance(vgg(image, layers), {k: ops.gram(fs[k]) for k in layers})


class Judge:
    """The project's measure of stylizations of one photo in the style of one painting; lower is
    better for both ratios. The photo's and the painting's features are computed once, so each
    result costs one VGG pass (`stylize eval` scores many results of one pair).

    style_ratio: Gram distance of the output to the style (summed squared differences over
    relu1_1..relu5_1), over that of the content image; the style resized so its long side
    matches the output's. content_ratio: mean squared relu4_2 distance of the output to the
    content, over that of the style image itself resized to the content's shape.

    The sum is dominated by the layer whose Gram entries are largest (relu4_1 on this VGG-19), so
    style_layers gives each layer's own ratio as well: a result can score a low style_ratio with
    its colours and fine texture (relu1_1, relu2_1) still the photo's (bench/README.md, "What the
    style ratio measures").
    """

    LAYERS = (*GRAM_STYLE_LAYERS, GRAM_CONTENT_LAYER)

    @torch.no_grad()
    def __init__(self, vgg: VGG19, content: torch.Tensor, style: torch.Tensor) -> None:
        from .images import fit, resize

        self.vgg, self.hw = vgg, tuple(content.shape[-2:])
        at_scale = vgg(fit(style, max(self.hw)), GRAM_STYLE_LAYERS)
        self.grams = {k: ops.gram(at_scale[k]) for k in GRAM_STYLE_LAYERS}
        photo = vgg(content, self.LAYERS)
        self.content = photo[GRAM_CONTENT_LAYER]
        self.style_scales = gram_distances(photo, self.grams)
        self.style_scale = sum(self.style_scales.values())
        painting = vgg(resize(style, self.hw), [GRAM_CONTENT_LAYER])[GRAM_CONTENT_LAYER]
        self.content_scale = float(((painting - self.content) ** 2).mean())
        if not (self.style_scale and self.content_scale):  # each ratio is over the photo-painting distance
            raise InputError("the photo and the painting are the same picture: the judge compares a result "
                             "with each, so it needs two different ones")

    @torch.no_grad()
    def __call__(self, output: torch.Tensor) -> dict[str, Any]:
        from .images import resize

        feats = self.vgg(resize(output, self.hw), self.LAYERS)
        distances = gram_distances(feats, self.grams)
        return {"style_ratio": sum(distances.values()) / self.style_scale,
                "content_ratio": float(((feats[GRAM_CONTENT_LAYER] - self.content) ** 2).mean()) / self.content_scale,
                "style_layers": {k: d / self.style_scales[k] if self.style_scales[k] else 0.0
                                 for k, d in distances.items()}}


def judge(vgg: VGG19, output: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> dict[str, Any]:
    """`Judge` for one output, at the output's size (the content resized to it)."""
    from .images import resize

    return Judge(vgg, resize(content, tuple(output.shape[-2:])), style)(output)
