"""`stylize run --method cin`, `stylize styles`, `stylize train-style` from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from stylize_cli.cli import cli
from stylize_cli.images import fit, load_image
from stylize_cli.styles import builtin_names

from .conftest import IMAGES, WEIGHTS_MIRROR, need

PHOTO = IMAGES / "content" / "sailboat.jpg"
PAINTING = IMAGES / "style" / "scene_de_rue.jpg"


pytestmark = pytest.mark.mirror  # CIN: Magenta's weights come from the mirror


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need(WEIGHTS_MIRROR)
    monkeypatch.setenv("STYLIZE_MIRROR", str(WEIGHTS_MIRROR))
    monkeypatch.setenv("STYLIZE_DATA", str(tmp_path / "data"))


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_cin_run_keeps_the_photo_size(tmp_path: Path) -> None:
    code, _, err = run("run", PHOTO, "--method", "cin", "--style", PAINTING, "-o", tmp_path / "o.png", "-q")
    assert code == 0, err
    with Image.open(tmp_path / "o.png") as out, Image.open(PHOTO) as photo:
        assert out.size == photo.size


def test_cin_two_style_mix_and_gallery_name(tmp_path: Path) -> None:
    assert "cezanne" in builtin_names()
    code, _, err = run("run", PHOTO, "-s", PAINTING, "-s", "cezanne", "-w", "1", "-w", "2",
                       "--size", "200", "-o", tmp_path / "mix.jpg", "-q")
    assert code == 0, err
    with Image.open(tmp_path / "mix.jpg") as out:
        assert max(out.size) == 200


def test_gatys_options_are_refused_for_cin(tmp_path: Path) -> None:
    code, _, err = run("run", PHOTO, "--method", "cin", "-s", PAINTING, "--iterations", "5", "-o", tmp_path / "o.jpg")
    assert code == 2 and "--iterations is not an option of cin (it is gatys's: use method gatys)" in err


def test_styles_list_and_show() -> None:
    code, out, _ = run("styles", "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) >= 12 and all(r["origin"] == "built-in" and r["licence"] for r in rows)
    code, out, _ = run("styles", "show", "cezanne")
    assert code == 0 and len(json.loads(out)["vector"]) == 100


def test_train_style_end_to_end(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "nested").mkdir(parents=True)
    shutil.copy(IMAGES / "content" / "flowers.jpg", photos / "flowers.jpg")
    shutil.copy(IMAGES / "content" / "cornell.jpg", photos / "nested" / "cornell.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8not really")
    (photos / "empty.png").write_bytes(b"")
    code, _, err = run("train-style", PAINTING, "--name", "kirchner_mine", "--content-dir", photos,
                       "--steps", "3", "--size", "64", "--scale", "96", "-q")
    assert code == 0, err
    assert "2 unreadable image(s) skipped, 2 used" in err
    saved = tmp_path / "data" / "styles" / "kirchner_mine.json"
    style = json.loads(saved.read_text())
    assert style["source"] == "scene_de_rue.jpg" and "3 steps" in style["made_by"]
    assert not list(saved.parent.glob(".*"))  # no checkpoint or temp file left behind
    code, _, err = run("run", PHOTO, "--style", "kirchner_mine", "--size", "96", "-o", tmp_path / "o.jpg", "-q")
    assert code == 0, err  # usable by name at once
    code, _, err = run("train-style", PAINTING, "--name", "kirchner_mine", "--steps", "1")
    assert code == 1 and "already" in err and "--force" in err


def test_train_style_refuses_builtin_names_and_empty_folders(tmp_path: Path) -> None:
    code, _, err = run("train-style", PAINTING, "--name", "cezanne", "--steps", "1")
    assert code == 1 and "cezanne: already a built-in style" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run("train-style", PAINTING, "--name", "x", "--content-dir", tmp_path / "empty", "--steps", "1")
    assert code == 1 and "empty: no images in the content folder" in err


def test_single_photo_with_max_size_and_tile(tmp_path: Path) -> None:
    code, _, err = run("run", PHOTO, "-s", "cezanne", "--max-size", "300", "--tile", "128", "-o", tmp_path / "o.png",
                       "-q")
    assert code == 0, err
    with Image.open(tmp_path / "o.png") as out:
        assert max(out.size) == 300


def test_styles_sheet_is_a_labelled_grid_of_the_photo_in_each_style(tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    code, _, err = run("styles", "sheet", PHOTO, "cezanne", "mondrian", "matisse", "-o", out, "--size", "96", "-q")
    assert code == 0, err
    sheet = np.asarray(Image.open(out).convert("RGB"), np.float64)
    h, w = fit(load_image(PHOTO).rgb, 96).shape[-2:]
    assert sheet.shape == (2 * (h + 22), 2 * w, 3)  # photo + 3 styles: 2 x 2
    tiles = [sheet[r * (h + 22) + 22:(r + 1) * (h + 22), c * w:(c + 1) * w] for r in range(2) for c in range(2)]
    labels = [sheet[r * (h + 22):r * (h + 22) + 22, c * w:(c + 1) * w] for r in range(2) for c in range(2)]
    assert all((label < 128).any() for label in labels)  # every tile has its name written above it
    for i, a in enumerate(tiles):  # four different pictures
        for b in tiles[i + 1:]:
            assert np.abs(a - b).mean() > 10
    code, _, err = run("styles", "sheet", PHOTO, "cezane", "-o", tmp_path / "x.png")
    assert code == 1 and "cezane" in err and "cezanne" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_train_style_network_end_to_end(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(IMAGES / "content" / "flowers.jpg", photos / "flowers.jpg")
    tiny = ("--content-dir", photos, "--size", "64", "--scale", "96", "-q")
    code, _, err = run("train-style", PAINTING, "--name", "kirchner_net", "--steps", "1", "--licence", "PD", *tiny)
    assert code == 0, err
    folder = tmp_path / "data" / "styles"
    vector = json.loads((folder / "kirchner_net.json").read_text())["vector"]
    code, _, err = run("train-style", PAINTING, "--name", "kirchner_net", "--network", "--steps", "2", *tiny)
    assert code == 1 and "--force" in err  # the vector style is not replaced by accident
    code, _, err = run("train-style", PAINTING, "--name", "kirchner_net", "--network", "--steps", "2", "--force", *tiny)
    assert code == 0, err
    assert "Saved network style 'kirchner_net'" in err
    code, out, _ = run("styles", "show", "kirchner_net")
    shown = json.loads(out)
    assert shown["kind"] == "network" and "--network" in shown["made_by"] and "2 steps" in shown["made_by"]
    # it started from the vector it replaced (same painting), whose record and licence it keeps
    assert shown["vector"] == vector and shown["made_by"].startswith("vector: ") and shown["licence"] == "PD"
    assert 100_000 < shown["weights_bytes"] == (folder / shown["weights"]).stat().st_size
    code, out, _ = run("styles", "list", "--json")
    assert {"name": "kirchner_net", "kind": "network"}.items() <= json.loads(out.splitlines()[-1]).items()
    assert sorted(p.name for p in folder.iterdir()) == sorted(["kirchner_net.json", shown["weights"]])
    code, _, err = run("run", PHOTO, "--style", "kirchner_net", "--size", "96", "-o", tmp_path / "o.jpg", "-q")
    assert code == 0, err

    (folder / shown["weights"]).write_bytes(b"\x80\x02not the network")
    code, _, err = run("run", PHOTO, "--style", "kirchner_net", "--size", "96", "-o", tmp_path / "o2.jpg", "-q")
    assert code != 0 and "sha256 mismatch" in err and shown["weights"] in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o2.jpg").exists()
