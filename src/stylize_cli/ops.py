"""Pure tensor math shared by the methods: statistics, Gram matrices, colour.

No state, no I/O, no device assumptions: every function takes and returns
tensors on whatever device they came from. Images are NCHW RGB in 0..1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

# RGB ↔ YIQ (NTSC), the luminance/chrominance split Gatys et al. 2016 use.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                            [0.596, -0.274, -0.322],
                            [0.211, -0.523, 0.312]])


def _check_image(x: torch.Tensor, name: str = "image") -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} must be Nx3xHxW, got {tuple(x.shape)}")


_CHUNK = 64  #: channels per step of the statistics below


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix per sample, divided by C*H*W so it does not grow with image size."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w).float()
    with torch.autocast(flat.device.type, enabled=False):  # in fp32 under bf16 autocast too: it sums H*W products
        return flat @ flat.transpose(1, 2) / (c * h * w)


def swag(features: torch.Tensor) -> torch.Tensor:
    """Activation smoothing: a softmax over every activation of a sample's feature map at once,
    all channels and positions together (Wang, Li & Vasconcelos, "Rethinking and Improving the
    Robustness of Image Style Transfer", CVPR 2021, eq. 11, SWAG).

    A residual network's deep activations are peaky (a few channels dominate its Gram matrices),
    so a Gram loss matches a few patterns and ignores the rest; the softmax raises their entropy.
    Its outputs sum to 1 per sample, so they are tiny; the relative losses do not care.
    """
    n = features.shape[0]
    return torch.softmax(features.reshape(n, -1).float(), dim=1).view_as(features)


def mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation over H, W (shape Nx C x1x1), in fp32.

    In fp16 the variance of raw VGG-19 features overflows (relu4_1 stds reach the hundreds,
    fp16 ends at 65504), and AdaIN then divides by inf; fp32 costs nothing at this size.
    Taken 64 channels at a time, so a 24-megapixel picture's features need no full-size copy.
    """
    if features.dim() != 4:
        raise ValueError(f"features must be NxCxHxW, got {tuple(features.shape)}")
    means, variances = [], []
    for part in features.split(_CHUNK, dim=1):
        chunk = part.float()
        variances.append(chunk.var(dim=(2, 3), keepdim=True, unbiased=False))
        means.append(chunk.mean(dim=(2, 3), keepdim=True))
    return torch.cat(means, dim=1), (torch.cat(variances, dim=1) + eps).sqrt()


def relative_error(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error over the target's squared norm: VGG layers whose activations differ by orders
    of magnitude, and pictures of any size, count alike. The one definition every loss uses."""
    x, target = x.float(), target.float()  # sums of many squares: fp32 under bf16 autocast too
    return (x - target).pow(2).sum() / target.pow(2).sum().clamp_min(1e-12)


def adain(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor) -> torch.Tensor:
    """Adaptive instance normalisation: the content features with the style's channel statistics."""
    mean, std = mean_std(content)
    return (content - mean) / std * style_std + style_mean


def masked_mean_std(features: torch.Tensor, mask: torch.Tensor,
                    eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel mean and std over the positions where `mask` (Nx1xHxW, 0/1) is 1 (fp32, as mean_std)."""
    area = mask.sum(dim=(2, 3), keepdim=True).clamp_min(1.0)
    means, variances = [], []
    for part in features.split(_CHUNK, dim=1):
        chunk = part.float()
        mean = (chunk * mask).sum(dim=(2, 3), keepdim=True) / area
        variances.append(((chunk - mean) ** 2 * mask).sum(dim=(2, 3), keepdim=True) / area)
        means.append(mean)
    return torch.cat(means, dim=1), (torch.cat(variances, dim=1) + eps).sqrt()


Affine = tuple[torch.Tensor, torch.Tensor]  #: a per-channel map f -> f * scale + shift


def adain_affine(content: tuple[torch.Tensor, torch.Tensor], styles: Sequence[tuple[torch.Tensor, torch.Tensor]],
                 weights: Sequence[float] = (1.0,), alpha: float | torch.Tensor = 1.0) -> Affine:
    """AdaIN toward a weighted mix of styles, blended with the content by `alpha`, as one
    per-channel map f -> f * scale + shift.

    With the content's statistics (mu, sigma) and the styles' weighted means (m, s), weights
    summing to 1: alpha * ((f - mu) / sigma * s + m) + (1 - alpha) * f. Being one map, it can be
    computed from a whole picture's statistics and applied tile by tile.
    """
    mu, sigma = content
    m = sum(w * mean for (mean, _), w in zip(styles, weights, strict=True))
    s = sum(w * std for (_, std), w in zip(styles, weights, strict=True))
    ratio = s / sigma
    return alpha * ratio + (1 - alpha), alpha * (m - mu * ratio)


Statistics = Callable[[str, tuple[torch.Tensor, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]


def masked_affines(content: torch.Tensor, mask: torch.Tensor, inside: tuple[torch.Tensor, torch.Tensor],
                   outside: tuple[torch.Tensor, torch.Tensor], alpha: float | torch.Tensor = 1.0,
                   own: Statistics | None = None) -> list[tuple[torch.Tensor, Affine]]:
    """AdaIN per region: where `mask` is 1 toward the `inside` style statistics, elsewhere `outside`,
    as (region, affine map) pairs; the result is the sum of region * (f * scale + shift).

    Each region is normalised with its own content statistics, so a small foreground is not
    dragged toward the background's (Huang & Belongie §7.2). Being maps, they can be computed on
    the whole picture and applied tile by tile; `own` may replace a region's statistics (a video
    shot's, keyed "inside"/"outside").
    """
    regions = []
    for key, region, style in (("inside", mask, inside), ("outside", 1 - mask, outside)):
        stats = masked_mean_std(content, region)
        regions.append((region, adain_affine(own(key, stats) if own else stats, [style], alpha=alpha)))
    return regions


def resize_mask(mask: torch.Tensor, hw: tuple[int, int] | torch.Size) -> torch.Tensor:
    """A 0..1 mask (Nx1xHxW) at feature size, thresholded at 0.5 so each position has one style."""
    small = torch.nn.functional.interpolate(mask, size=tuple(hw), mode="area")
    return (small >= 0.5).to(mask.dtype)


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    _check_image(x)
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(x), x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    _check_image(x)
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_YIQ).to(x), x)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """Luminance repeated on three channels: a grey RGB image the networks accept."""
    return rgb_to_yiq(x)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luminance to the content's mean and std.

    Gatys et al. 2016, "Preserving color", eq. 1: otherwise a dark painting
    makes a dark photo even though its colours are discarded.
    """
    ys, yc = luminance(style), luminance(content)
    return ((ys - ys.mean()) * (yc.std() / (ys.std() + 1e-6)) + yc.mean()).clamp(0, 1)


def with_luminance_of(image: torch.Tensor, colour_source: torch.Tensor) -> torch.Tensor:
    """Combine the luminance of `image` with the chrominance (I, Q) of `colour_source`."""
    yiq = torch.cat([rgb_to_yiq(image)[:, :1], rgb_to_yiq(colour_source)[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0, 1)


def match_color(source: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Recolour `source` so its pixels have the mean and covariance of `target`'s.

    The linear "colour histogram matching" of Gatys et al. 2016 (their eq. 2,
    via symmetric matrix square roots, as in Hertzmann's Image Analogies).
    Image i of a batch takes the colours of target i, or of the only target.
    """
    _check_image(source, "source")
    _check_image(target, "target")
    if len(target) not in (1, len(source)):
        raise ValueError(f"match_color: {len(target)} targets for {len(source)} images; give one, "
                         "or one per image")
    return torch.cat([_match_one(s, target[i if len(target) > 1 else 0], eps)
                      for i, s in enumerate(source)]).to(source)


def _match_one(source: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    # float64 on the CPU: the 3x3 algebra is cheap, and MPS has no float64 or eigh.
    s = source.reshape(3, -1).detach().cpu().double()
    t = target.reshape(3, -1).detach().cpu().double()
    mu_s, mu_t = s.mean(1, keepdim=True), t.mean(1, keepdim=True)
    eye = torch.eye(3, dtype=s.dtype) * eps
    transform = _sqrtm(torch.cov(t) + eye) @ torch.linalg.inv(_sqrtm(torch.cov(s) + eye))
    out = transform @ (s - mu_s) + mu_t
    return out.reshape(source.shape).unsqueeze(0).float().clamp(0, 1)


def _sqrtm(m: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(m)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


PATCH = 32  #: periodicity: patch side in px (a few periods of a decoder's hatching, 4-7 px)


def patches(image: torch.Tensor, size: int = PATCH, stride: int | None = None) -> torch.Tensor:
    """The luminance of NxCxHxW pictures in size x size tiles, `stride` apart (default: side by side):
    N x L x size x size, row by row."""
    grey = rgb_to_yiq(image.float())[:, :1]
    tiles = F.unfold(grey, size, stride=stride or size)  # N x size² x L
    return tiles.transpose(1, 2).reshape(image.shape[0], -1, size, size)


def flattest(tiles: torch.Tensor, fraction: float = 0.25) -> torch.Tensor:
    """Indices (N x k) of each picture's flattest tiles by mean gradient: at least 4, else `fraction`."""
    gradient = tiles.diff(dim=-1).abs().mean(dim=(-2, -1)) + tiles.diff(dim=-2).abs().mean(dim=(-2, -1))
    keep = min(tiles.shape[1], max(4, round(tiles.shape[1] * fraction)))
    return gradient.argsort(dim=1)[:, :keep]


def high_pass(x: torch.Tensor, size: int) -> torch.Tensor:
    """NxCxHxW pictures less their mean over a `size` px box (odd; edges replicated): what is finer
    than the box, smooth shading out."""
    half = size // 2
    return x - F.avg_pool2d(F.pad(x, (half, half, half, half), mode="replicate"), size, stride=1)


def periodicity(tiles: torch.Tensor) -> torch.Tensor:
    """Per picture (tiles N x k x P x P): the amplitude (0..1, as the pixels) of the strongest frequency
    of the tiles' mean high-passed spectrum above the median one. A pattern repeated in every tile (a
    decoder's hatching) adds up to one strong frequency; irregular strokes and noise of the same energy
    spread over many. A ratio of the two instead scored near-empty skies of photos above visible
    lattices (bench/README.md). High-passed by a 9 px box (smooth shading out), Hann-windowed (the
    tiles' edges out), in fp32 whatever the autocast."""
    with torch.autocast(tiles.device.type, enabled=False):
        n, k, size, _ = tiles.shape
        flat = tiles.float().reshape(n * k, 1, size, size)
        window = torch.hann_window(size, periodic=False, device=tiles.device)
        power = torch.fft.fft2(high_pass(flat, 9)[:, 0] * window[:, None] * window[None, :]).abs().pow(2)
        power = power.reshape(n, k, size, size).mean(dim=1)
        f = torch.fft.fftfreq(size, device=tiles.device) * size
        radius = (f[:, None] ** 2 + f[None, :] ** 2).sqrt()
        band = power[:, (radius >= 2) & (radius <= size // 2)]
        excess = (band.max(dim=1).values - band.median(dim=1).values).clamp_min(0)
        return 2 * (excess + 1e-12).sqrt() / window.sum() ** 2  # a sinusoid's amplitude from its peak
