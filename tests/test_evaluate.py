"""`stylize eval` and `evaluate`: the judge's ratios and the hatching measure, on real pictures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylize_cli.errors import InputError
from stylize_cli.evaluate import evaluate, flat_patches, hatching
from stylize_cli.images import fit, load_image

from .conftest import PAINTING, PHOTOS


def test_the_photo_and_the_painting_score_their_definitions() -> None:
    photo, painting = PHOTOS[0], PAINTING
    as_photo, as_painting = evaluate(photo, painting, [photo, painting], size=256, device="cpu")
    assert as_photo.style == pytest.approx(1.0) and as_photo.content == pytest.approx(0.0, abs=1e-6)
    assert as_painting.content == pytest.approx(1.0, abs=0.05)
    assert as_painting.style < 0.5  # not 0: the portrait is squashed onto the landscape photo's shape
    assert as_photo.result == str(photo)


def test_evenly_spaced_strokes_in_flat_regions_score_high() -> None:
    """The adain defect: the same diagonal streaks in every sky. Added to a photo's flattest parts they
    raise its hatching many times; noise of the same strength does not."""
    photo = fit(load_image(PHOTOS[2]).rgb, 512)  # the rocket: a sky
    flat = flat_patches(photo)
    y, x = torch.meshgrid(torch.arange(photo.shape[-2]), torch.arange(photo.shape[-1]), indexing="ij")
    streaks = 0.06 * torch.sin((x + y).float() * 2 * torch.pi / 8)
    noise = 0.06 * torch.randn(photo.shape[-2:], generator=torch.Generator().manual_seed(0))
    own = hatching(photo, flat)
    striped = hatching((photo + streaks).clamp(0, 1), flat)
    assert own < 2 and striped > 5 * own and striped == pytest.approx(0.06 * 255, rel=0.3)  # the streaks' grey levels
    assert hatching((photo + noise).clamp(0, 1), flat) < striped / 4


def test_eval_command_table_json_and_a_missing_result(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "stylize_cli", "eval"]
    done = subprocess.run([*cli, str(PHOTOS[0]), str(PAINTING), str(PHOTOS[0]), "--size", "128", "--json"],
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert {"result", "style", "content", "hatching"} <= set(record) and record["style"] == pytest.approx(1.0)
    assert list(record["style_layers"]) == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    assert all(r == pytest.approx(1.0) for r in record["style_layers"].values())  # the photo, layer by layer
    table = subprocess.run([*cli, str(PHOTOS[0]), str(PAINTING), str(PAINTING), "--size", "128"],
                           check=False, capture_output=True, text=True)
    assert table.returncode == 0 and "hatching" in table.stdout and PAINTING.name in table.stdout
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a picture")
    for bad in (tmp_path / "missing.jpg", broken):
        failed = subprocess.run([*cli, str(PHOTOS[0]), str(PAINTING), str(PHOTOS[0]), str(bad)],
                                check=False, capture_output=True, text=True)
        assert failed.returncode == 1 and failed.stdout == ""
        assert str(bad) in failed.stderr and len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    with pytest.raises(InputError, match=r"missing\.jpg"):
        evaluate(PHOTOS[0], PAINTING, [tmp_path / "missing.jpg"])
    same = subprocess.run([*cli, str(PHOTOS[0]), str(PHOTOS[0]), str(PHOTOS[0]), "--size", "64"],
                          check=False, capture_output=True, text=True)  # both ratios would divide by 0
    assert same.returncode == 1 and "same picture" in same.stderr and str(PHOTOS[0]) in same.stderr
    assert len(same.stderr.strip().splitlines()) == 1, same.stderr


def test_results_of_another_size_are_judged_at_the_photos(tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    Image.open(PHOTOS[0]).resize((150, 100)).save(small)
    score, = evaluate(PHOTOS[0], PAINTING, [small], size=128, device="cpu")
    assert score.style > 0.8 and score.content < 0.2 and np.isfinite(score.hatching)


def test_a_flat_picture_has_no_peak_and_no_nan() -> None:
    """A saturated sky (every tile constant) once gave 0/0, whose log made a fine-tune's weights NaN."""
    flat = torch.full((1, 3, 128, 128), 1.0, requires_grad=True)
    from stylize_cli import ops

    score = ops.periodicity(ops.patches(flat))
    score.sum().backward()
    assert float(score.detach()) < 1e-3 and torch.isfinite(flat.grad).all()
