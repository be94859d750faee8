"""Loading every kind of image a user may have, refusing bad ones, saving atomically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylize_cli.errors import InputError, StylizeError
from stylize_cli.images import check_writable, fit, load_image, save_image, to_pil

from .conftest import PHOTOS


def opened(path: Path) -> Image.Image:
    """Read fully and close the file (pytest turns unclosed files into errors)."""
    with Image.open(path) as im:
        im.load()
        return im


def photo() -> Image.Image:
    return opened(PHOTOS[0]).convert("RGB")


def test_real_jpeg_loads_as_rgb_tensor() -> None:
    img = load_image(PHOTOS[0])
    ref = np.asarray(photo(), dtype=np.float32) / 255
    assert img.rgb.shape == (1, 3, ref.shape[0], ref.shape[1]) and img.alpha is None
    assert torch.allclose(img.rgb[0].permute(1, 2, 0), torch.from_numpy(ref))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    src = photo().resize((60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "rotated.jpg"
    src.save(path, exif=exif)
    assert load_image(path).size == (40, 60)


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "LA", "I;16"])
def test_other_modes_load(tmp_path: Path, mode: str) -> None:
    im = photo().resize((64, 48))
    if mode == "I;16":
        grey = np.asarray(im.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
        im = Image.fromarray(grey)
    else:
        im = im.convert(mode)
    path = tmp_path / ("img.tif" if mode == "CMYK" else "img.png")
    im.save(path)
    loaded = load_image(path)
    assert loaded.rgb.shape == (1, 3, 48, 64)
    assert 0.2 < float(loaded.rgb.mean()) < 0.9  # not clipped to white or black


def test_sixteen_bit_grey_keeps_its_range(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 256, dtype=np.uint16).reshape(16, 16)
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    loaded = load_image(path).rgb
    assert float(loaded.min()) == 0.0 and float(loaded.max()) == pytest.approx(1.0)


def test_alpha_is_kept_through_save(tmp_path: Path) -> None:
    im = photo().resize((64, 48)).convert("RGBA")
    im.putalpha(Image.linear_gradient("L").resize((64, 48)))
    path = tmp_path / "alpha.png"
    im.save(path)
    loaded = load_image(path)
    assert loaded.alpha is not None
    out = tmp_path / "out.png"
    save_image(to_pil(fit(loaded.rgb, 32), loaded.alpha), out)
    saved = opened(out)
    assert saved.mode == "RGBA" and saved.size == (32, 24)
    a = np.asarray(saved)[..., 3]
    assert a[0].mean() < 30 and a[-1].mean() > 220  # the gradient survived
    save_image(to_pil(loaded.rgb, loaded.alpha), tmp_path / "out.jpg")  # JPEG drops alpha quietly
    assert opened(tmp_path / "out.jpg").mode == "RGB"


def test_a_result_with_nan_pixels_is_refused_not_saved() -> None:
    rgb = torch.rand(1, 3, 4, 4)
    rgb[0, 1, 2, 2] = float("nan")
    with pytest.raises(StylizeError, match=r"NaN or infinite pixels.*in fp32 precision"):
        to_pil(rgb)


@pytest.mark.parametrize("suffix,fmt", [(".jpg", "JPEG"), (".png", "PNG"), (".webp", "WEBP"), (".tif", "TIFF")])
def test_format_follows_extension(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = save_image(photo().resize((32, 24)), tmp_path / f"out{suffix}")
    assert opened(path).format == fmt


def test_jpeg_quality_is_95(tmp_path: Path) -> None:
    im = photo()
    path = save_image(im, tmp_path / "q.jpg")
    ref = io.BytesIO()
    im.save(ref, "JPEG", quality=95)
    assert path.stat().st_size == len(ref.getvalue())


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jpg: no such file"):
        load_image(tmp_path / "nope.jpg")


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.jpg: file is empty"):
        load_image(tmp_path / "empty.jpg")


def test_non_image(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(InputError, match=r"notes\.jpg: not an image"):
        load_image(tmp_path / "notes.jpg")


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = (PHOTOS[0]).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.jpg: truncated or corrupt"):
        load_image(tmp_path / "cut.jpg")


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000)).save(path)  # 144 Mpx in a few kB
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"bomb\.png: 12000x12000 is 144 megapixels"):
        load_image(path)


def test_pixel_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "small.png"
    photo().resize((100, 100)).save(path)
    monkeypatch.setenv("STYLIZE_MAX_PIXELS", "5000")
    with pytest.raises(InputError, match="STYLIZE_MAX_PIXELS"):
        load_image(path)


def test_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")

    def explode(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"half an image")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", explode)
    with pytest.raises(InputError, match=r"out\.png: could not save \(no space left on the device\)"):
        save_image(Image.new("RGB", (8, 8)), out)
    assert out.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_unwritable_output_is_caught_before_work(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot write there"):
        check_writable(tmp_path / "file" / "out.jpg")
    with pytest.raises(InputError, match=r"unknown output format '\.gif'"):
        check_writable(tmp_path / "out.gif")


def test_saved_file_respects_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        path = save_image(Image.new("RGB", (4, 4)), tmp_path / "perm.png")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_fit_keeps_aspect() -> None:
    x = torch.rand(1, 3, 300, 451)
    assert fit(x, 256).shape[-2:] == (170, 256)
    assert fit(x, None).shape == x.shape
