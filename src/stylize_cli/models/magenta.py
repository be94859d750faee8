"""Magenta's arbitrary-style networks (Ghiasi et al. 2017), mobile release, in PyTorch.

`StylePredictor` maps a painting to a 100-d style vector (MobileNet-v2, distilled
by Magenta from their Inception-v3 predictor). `TransferNet` stylizes a photo
given such a vector: every normalization is conditional instance norm whose
gamma and beta are 1x1 projections of the vector (`StyleNorm`). The structure
and names follow the TFLite graphs, so `*_state_dict` are plain name maps.

Deviations from the TFLite graphs: none in the arithmetic. The predictor runs in
float32 on dequantized int8 weights (the TFLite runtime computes in int8), so
its vectors differ from the runtime's by about half an output quantization step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..convert.tflite import take
from ..devices import network_on
from .cache import shared

STYLE_DIM = 100
M = TypeVar("M", bound=nn.Module)
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))  # (expansion, channels, repeats, stride)


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME padding: any odd pixel goes after, not before (unlike padding=1)."""
    pads = []
    for n in (x.shape[-1], x.shape[-2]):
        out = -(-n // stride)
        total = max((out - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class TFConv(nn.Conv2d):
    """A convolution with TF SAME padding, optionally depthwise, with ReLU6 or not."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1,
                 depthwise: bool = False, relu6: bool = True) -> None:
        super().__init__(cin, cout, kernel, stride, groups=cin if depthwise else 1)
        self.relu6 = relu6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))
        return F.relu6(x) if self.relu6 else x


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = TFConv(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = TFConv(hidden, hidden, 3, stride, depthwise=True)
        self.project = TFConv(hidden, cout, 1, relu6=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x) if self.expand is not None else x))
        return x + y if self.residual else y


class StylePredictor(nn.Module):
    """MobileNet-v2 1.0 to `Conv_1`, global mean, 1x1 to 100-d. Input: RGB 0..1."""

    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        cin = 32
        for t, c, n, s in MOBILENET_V2:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, t, s if i == 0 else 1))
                cin = c
        self.stem = TFConv(3, 32, 3, 2)
        self.blocks = nn.Sequential(*blocks)
        self.head = TFConv(320, 1280, 1)
        self.bottleneck = nn.Linear(1280, STYLE_DIM)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(image)))
        return self.bottleneck(x.mean(dim=(2, 3)))


Stats = tuple[torch.Tensor, torch.Tensor]  #: (var, mean) of a picture's channels
#: Per call: the norm layer's index and its input's statistics → the statistics to normalise with
#: (tiles share the whole picture's; video frames take their shot's). None: each picture's own.
Normalizer = Callable[[int, Stats], Stats]


class StyleNorm(nn.Module):
    """Conditional instance norm: gamma, beta = W_g v + b_g, W_b v + b_b for style vector v."""

    def __init__(self, channels: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.scale = nn.Linear(STYLE_DIM, channels)  # TF "StyleNorm/Conv_1"
        self.shift = nn.Linear(STYLE_DIM, channels)  # TF "StyleNorm/Conv"
        self.register_buffer("eps", torch.tensor(eps))

    def params(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.scale(style)[..., None, None], self.shift(style)[..., None, None]

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                stats: Callable[[Stats], Stats] | None = None) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
        if stats is not None:
            var, mean = stats((var, mean))
        return (x - mean) * torch.rsqrt(var + self.eps) * gamma + beta


class NormConv(nn.Module):
    """Reflection pad → conv → StyleNorm (→ ReLU), the transformer's repeated unit."""

    def __init__(self, cin: int, cout: int, kernel: int, relu: bool) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(cin, cout, kernel)
        self.norm = StyleNorm(cout)
        self.relu = relu

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                stats: Callable[[Stats], Stats] | None = None) -> torch.Tensor:
        x = self.norm(self.conv(F.pad(x, [self.pad] * 4, mode="reflect")), gamma, beta, stats)
        return F.relu(x) if self.relu else x


class TransferNet(nn.Module):
    """Three plain convs down (x1/4), five CIN residual blocks, three CIN convs up, sigmoid.

    `norm_params(vector)` computes every layer's gamma/beta once per style;
    `forward(content, params)` then costs only the convolutions, so one style
    applied to many images (batch mode) does that work once. The network holds no
    state between calls (one copy serves every thread): what a call normalises with
    comes in as its `normalizer`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.ModuleList([nn.Conv2d(3, 8, 9), nn.Conv2d(8, 16, 3, 2), nn.Conv2d(16, 32, 3, 2)])
        self.residual = nn.ModuleList(
            nn.ModuleList([NormConv(32, 32, 3, relu=True), NormConv(32, 32, 3, relu=False)]) for _ in range(5))
        self.expand = nn.ModuleList([NormConv(32, 16, 3, True), NormConv(16, 8, 3, True), NormConv(8, 3, 9, False)])

    def norms(self) -> list[StyleNorm]:
        return [m for m in self.modules() if isinstance(m, StyleNorm)]

    def norm_params(self, style: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [norm.params(style) for norm in self.norms()]

    def statistics(self, content: torch.Tensor, params: list[tuple[torch.Tensor, torch.Tensor]],
                   normalizer: Normalizer | None = None) -> list[Stats]:
        """Every norm layer's (var, mean) for this picture: what its tiles must share."""
        seen: list[Stats] = []

        def record(index: int, stats: Stats) -> Stats:
            stats = normalizer(index, stats) if normalizer else stats
            seen.append(stats)
            return stats

        self(content, params, record)
        return seen

    def forward(self, content: torch.Tensor, params: list[tuple[torch.Tensor, torch.Tensor]],
                normalizer: Normalizer | None = None) -> torch.Tensor:
        h, w = content.shape[-2:]
        x = content
        for conv in self.contract:
            x = F.relu(conv(F.pad(x, [conv.kernel_size[0] // 2] * 4, mode="reflect")))
        layer = iter(range(len(params)))

        def norm() -> Callable[[Stats], Stats] | None:
            return None if normalizer is None else functools.partial(normalizer, next(layer))

        it = iter(params)
        for first, second in self.residual:
            x = x + second(first(x, *next(it), norm()), *next(it), norm())
        up1, up2, out = self.expand
        x = up1(F.interpolate(x, scale_factor=2.0, mode="nearest"), *next(it), norm())
        x = up2(F.interpolate(x, scale_factor=2.0, mode="nearest"), *next(it), norm())
        x = F.interpolate(x, size=(h, w), mode="nearest")  # only changes sides not divisible by 4
        return torch.sigmoid(out(x, *next(it), norm()))


def _conv(w: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(w.transpose(0, 3, 1, 2)))  # OHWI → OIHW


def predictor_state_dict(tensors: dict[str, np.ndarray], path: str | Path) -> dict[str, torch.Tensor]:
    get = lambda name: take(tensors, name, path)  # noqa: E731
    state: dict[str, torch.Tensor] = {
        "stem.weight": _conv(get("MobilenetV2/Conv/weights")),
        "stem.bias": torch.from_numpy(get("MobilenetV2/Conv/Conv2D_bias")),
        "head.weight": _conv(get("MobilenetV2/Conv_1/weights")),
        "head.bias": torch.from_numpy(get("MobilenetV2/Conv_1/Conv2D_bias")),
        "bottleneck.weight": torch.from_numpy(get("mobilenet_conv/Conv/weights")[:, 0, 0, :].copy()),
        "bottleneck.bias": torch.from_numpy(get("mobilenet_conv/Conv/Conv2D_bias")),
    }
    for i in range(17):
        tf = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        if i:
            state[f"blocks.{i}.expand.weight"] = _conv(get(f"{tf}/expand/weights"))
            state[f"blocks.{i}.expand.bias"] = torch.from_numpy(get(f"{tf}/expand/Conv2D_bias"))
        depthwise = get(f"{tf}/depthwise/depthwise_weights")  # [1, kh, kw, C]
        state[f"blocks.{i}.depthwise.weight"] = torch.from_numpy(
            np.ascontiguousarray(depthwise[0].transpose(2, 0, 1)[:, None]))
        state[f"blocks.{i}.depthwise.bias"] = torch.from_numpy(get(f"{tf}/depthwise/depthwise_bias"))
        state[f"blocks.{i}.project.weight"] = _conv(get(f"{tf}/project/weights"))
        state[f"blocks.{i}.project.bias"] = torch.from_numpy(get(f"{tf}/project/Conv2D_bias"))
    return state


def transfer_state_dict(tensors: dict[str, np.ndarray], path: str | Path) -> dict[str, torch.Tensor]:
    get = lambda name: take(tensors, name, path)  # noqa: E731
    # Convolutions that feed a norm carry no useful bias (the norm removes it); TF
    # stored one shared zero vector for the residual ones, which we reuse.
    shared_bias = get("transformer/residual/residual5/conv2/Conv2D_bias")
    state: dict[str, torch.Tensor] = {}
    for i in range(3):
        tf = f"transformer/contract/conv{i + 1}"
        state[f"contract.{i}.weight"] = _conv(get(f"{tf}/weights"))
        state[f"contract.{i}.bias"] = torch.from_numpy(get(f"{tf}/Conv2D_bias"))
    units = [(f"residual.{b}.{c}", f"transformer/residual/residual{b + 1}/conv{c + 1}")
             for b in range(5) for c in range(2)]
    units += [(f"expand.{i}", f"transformer/expand/conv{i + 1}/conv") for i in range(3)]
    for ours, tf in units:
        state[f"{ours}.conv.weight"] = _conv(get(f"{tf}/weights"))
        bias = tensors.get(f"{tf}/Conv2D_bias", shared_bias)
        channels = state[f"{ours}.conv.weight"].shape[:1]
        state[f"{ours}.conv.bias"] = torch.from_numpy(np.broadcast_to(bias, channels).copy())
        state[f"{ours}.norm.eps"] = torch.tensor(float(get(f"{tf}/StyleNorm/batchnorm/add/y")))
        for part, name in (("scale", "Conv_1"), ("shift", "Conv")):
            state[f"{ours}.norm.{part}.weight"] = torch.from_numpy(
                get(f"style_params/{tf}/StyleNorm/{name}/weights")[:, 0, 0, :].copy())
            state[f"{ours}.norm.{part}.bias"] = torch.from_numpy(get(f"style_params/{tf}/StyleNorm/{name}/Conv2D_bias"))
    return state


PREDICTOR = "magenta-arbitrary-predict-int8"
TRANSFER = "magenta-arbitrary-transfer-f16"


def load_predictor(device: torch.device | str = "cpu") -> StylePredictor:
    """The frozen style predictor, fetched and converted on first use, built once per device."""
    return shared((PREDICTOR, str(device)), lambda: _build(StylePredictor(), PREDICTOR, predictor_state_dict, device))


def load_transfer(device: torch.device | str = "cpu") -> TransferNet:
    """The frozen transfer network, fetched and converted on first use, built once per device."""
    return shared((TRANSFER, str(device)), lambda: _build(TransferNet(), TRANSFER, transfer_state_dict, device))


def _build(model: M, name: str, convert: Callable[[dict[str, np.ndarray], Path], dict[str, torch.Tensor]],
           device: torch.device | str) -> M:
    from .. import weights
    from ..convert.tflite import read_constants

    model.load_state_dict(weights.converted(name, lambda path: convert(read_constants(path), path)))
    return network_on(model, device).eval().requires_grad_(False)
