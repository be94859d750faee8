"""The pure tensor math, checked against statistics computed by hand."""

from __future__ import annotations

import pytest
import torch

from stylize_cli import ops


def test_gram_matches_a_hand_computation() -> None:
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # 1x2x2x2
    a, b = f[0, 0].flatten(), f[0, 1].flatten()
    expected = torch.tensor([[a @ a, a @ b], [b @ a, b @ b]]) / (2 * 2 * 2)
    torch.testing.assert_close(ops.gram(f)[0], expected)


def test_gram_is_size_independent_for_a_tiled_texture() -> None:
    tile = torch.rand(1, 4, 8, 8)
    torch.testing.assert_close(ops.gram(tile), ops.gram(tile.repeat(1, 1, 3, 3)))


def test_mean_std() -> None:
    f = torch.randn(2, 3, 10, 10) * 4 + 2
    mean, std = ops.mean_std(f, eps=0)
    torch.testing.assert_close(mean.flatten(), f.mean(dim=(2, 3)).flatten())
    torch.testing.assert_close(std.flatten(), f.std(dim=(2, 3), unbiased=False).flatten())
    with pytest.raises(ValueError, match="NxCxHxW"):
        ops.mean_std(torch.rand(3, 10, 10))


def test_statistics_of_fp16_features_do_not_overflow() -> None:
    """Raw VGG-19 relu4_1 features have stds in the hundreds: their variance is past fp16's 65504."""
    f = (torch.randn(1, 4, 16, 16) * 400 + 100).half()
    mean, std = ops.mean_std(f)
    assert mean.dtype == std.dtype == torch.float32 and torch.isfinite(std).all()
    torch.testing.assert_close(std.flatten(), f.float().std(dim=(2, 3), unbiased=False).flatten(), rtol=1e-3, atol=0)
    out = ops.adain(f, mean.flip(1), std.flip(1))
    assert torch.isfinite(out).all()
    _, masked_std = ops.masked_mean_std(f, torch.ones(1, 1, 16, 16))
    torch.testing.assert_close(masked_std, std, rtol=1e-3, atol=0)


def test_yiq_round_trip_and_grey_luminance() -> None:
    x = torch.rand(1, 3, 5, 7)
    torch.testing.assert_close(ops.yiq_to_rgb(ops.rgb_to_yiq(x)), x, atol=1e-5, rtol=0)
    grey = torch.full((1, 3, 2, 2), 0.4)
    torch.testing.assert_close(ops.luminance(grey), grey)


def test_match_color_gives_the_target_mean_and_covariance() -> None:
    g = torch.Generator().manual_seed(0)
    source = torch.rand(1, 3, 40, 40, generator=g) * 0.3 + 0.1
    mix = torch.tensor([[0.5, 0.2, 0.0], [0.1, 0.3, 0.1], [0.0, 0.1, 0.2]])
    target = (torch.einsum("ij,njhw->nihw", mix, torch.rand(1, 3, 40, 40, generator=g)) + 0.3)
    out = ops.match_color(source, target)
    o, t = out[0].reshape(3, -1), target[0].reshape(3, -1)
    torch.testing.assert_close(o.mean(1), t.mean(1), atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.cov(o), torch.cov(t), atol=1e-4, rtol=0)


def test_match_color_recolours_every_image_of_a_batch() -> None:
    """It once used only the first image of a batch and returned one image for N."""
    g = torch.Generator().manual_seed(2)
    source = torch.rand(3, 3, 20, 20, generator=g) * 0.5
    targets = torch.rand(3, 3, 20, 20, generator=g) * torch.tensor([0.1, 0.3, 0.5]).view(3, 1, 1, 1) + 0.2
    out = ops.match_color(source, targets)
    assert out.shape == source.shape
    for i in range(3):
        torch.testing.assert_close(out[i].mean((1, 2)), targets[i].mean((1, 2)), atol=1e-4, rtol=0)
        torch.testing.assert_close(out[i:i + 1], ops.match_color(source[i:i + 1], targets[i:i + 1]))
    one = ops.match_color(source, targets[1:2])  # one target for every image
    for i in range(3):
        torch.testing.assert_close(one[i].mean((1, 2)), targets[1].mean((1, 2)), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="2 targets for 3 images"):
        ops.match_color(source, targets[:2])


def test_the_library_leaves_the_thread_count_alone() -> None:
    """pick_device("cpu") once raised torch's thread count: a library must not change its caller's process."""
    from stylize_cli.devices import pick_device

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert pick_device("cpu") == torch.device("cpu") and pick_device("auto").type in ("cpu", "cuda", "mps")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_luminance_helpers() -> None:
    g = torch.Generator().manual_seed(1)
    style = torch.rand(1, 3, 16, 16, generator=g) * 0.2  # dark
    content = torch.rand(1, 3, 16, 16, generator=g) * 0.5 + 0.4  # bright
    y = ops.match_luminance(style, content)
    assert abs(float(y.mean()) - float(ops.luminance(content).mean())) < 1e-3
    recoloured = ops.with_luminance_of(ops.luminance(content), content)
    torch.testing.assert_close(recoloured, content, atol=1e-5, rtol=0)


def test_swag_is_one_softmax_over_every_activation_of_a_sample() -> None:
    """Wang et al. 2021, eq. 11: all channels and positions together, per sample."""
    g = torch.Generator().manual_seed(3)
    features = torch.randn(2, 4, 3, 5, generator=g) * 3
    smooth = ops.swag(features)
    assert smooth.shape == features.shape
    torch.testing.assert_close(smooth.sum(dim=(1, 2, 3)), torch.ones(2))
    expected = features[1].exp() / features[1].exp().sum()
    torch.testing.assert_close(smooth[1], expected)
