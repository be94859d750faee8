"""Devices and precision: bf16 where the processor has it, fp32 where it does not, and outputs that
stay close to fp32's on real pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylize_cli import Stylizer
from stylize_cli.devices import cpu_has_bf16, memory_format, resolve_precision
from stylize_cli.images import load_image
from stylize_cli.losses import judge
from stylize_cli.models.vgg import load_vgg19

from .conftest import PAINTING, PHOTOS

X86 = "processor\t: 0\nflags\t\t: fpu sse sse2 avx2 avx512f {}\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd {}\n"


@pytest.mark.parametrize("text,has", [(X86.format("avx512_bf16"), True), (X86.format("amx_bf16 amx_tile"), True),
                                      (X86.format("avx512_vnni"), False), (ARM.format("bf16 i8mm"), True),
                                      (ARM.format("sve2"), False)])
def test_bf16_is_read_from_the_processors_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                                has: bool) -> None:
    monkeypatch.delenv("STYLIZE_CPU_BF16", raising=False)
    (tmp_path / "cpuinfo").write_text(text)
    assert cpu_has_bf16(str(tmp_path / "cpuinfo")) is has
    assert cpu_has_bf16(str(tmp_path / "missing")) is False  # no flags to read (macOS, Windows): fp32
    monkeypatch.setenv("STYLIZE_CPU_BF16", "0" if has else "1")
    assert cpu_has_bf16(str(tmp_path / "cpuinfo")) is not has  # the override wins either way


def test_auto_precision_by_device_and_method(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
    monkeypatch.setenv("STYLIZE_CPU_BF16", "1")
    assert [resolve_precision("auto", cpu, m) for m in ("adain", "cin", "sanet")] == ["bf16", "fp32", "bf16"]
    assert resolve_precision("fp32", cpu, "adain") == "fp32"  # asked for: kept
    monkeypatch.setenv("STYLIZE_CPU_BF16", "0")
    assert resolve_precision("auto", cpu, "adain") == "fp32"
    assert resolve_precision("auto", cuda, "adain") == "bf16" and resolve_precision("auto", cuda, "cin") == "fp32"
    assert resolve_precision("auto", mps, "sanet") == "fp32"
    monkeypatch.delenv("STYLIZE_CHANNELS_LAST", raising=False)
    assert memory_format(cpu) == torch.channels_last and memory_format(cuda) == torch.contiguous_format
    monkeypatch.setenv("STYLIZE_CHANNELS_LAST", "1")
    assert memory_format(cuda) == torch.channels_last
    monkeypatch.setenv("STYLIZE_CHANNELS_LAST", "0")
    assert memory_format(cpu) == torch.contiguous_format


@pytest.mark.parametrize("method", ["adain", "sanet"])
def test_a_cpu_without_bf16_runs_fp32_and_one_with_it_bf16(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    monkeypatch.setenv("STYLIZE_CPU_BF16", "0")
    assert Stylizer(PAINTING, method=method, device="cpu").method.precision == "fp32"  # type: ignore[attr-defined]
    monkeypatch.setenv("STYLIZE_CPU_BF16", "1")
    assert Stylizer(PAINTING, method=method, device="cpu").method.precision == "bf16"  # type: ignore[attr-defined]


def _guard(method: str, photo: Path, painting: Path, size: int) -> None:
    """bf16 (with channels-last) against fp32 on a real pair: mean within 1.5/255, the judge within 2%."""
    image = Image.open(photo).convert("RGB")
    outs = {p: Stylizer(painting, method=method, device="cpu", size=size, precision=p)(image) for p in ("fp32", "bf16")}
    pixels = {p: np.asarray(o, np.float64) for p, o in outs.items()}
    assert np.abs(pixels["fp32"] - pixels["bf16"]).mean() <= 1.5, method
    vgg, content, style = load_vgg19(), load_image(photo).rgb, load_image(painting).rgb
    scores = {p: judge(vgg, load_image(o).rgb, content, style) for p, o in outs.items()}
    for key in ("style_ratio", "content_ratio"):
        assert abs(scores["bf16"][key] / scores["fp32"][key] - 1) <= 0.02, (method, key, scores)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["adain", "sanet"])
def test_bf16_stays_close_to_fp32_on_real_pictures(method: str) -> None:
    _guard(method, PHOTOS[1], PAINTING, 512)
