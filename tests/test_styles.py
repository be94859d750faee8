"""The built-in gallery: the famous paintings are there under the names users type, with their records."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from stylize_cli.cli import cli
from stylize_cli.errors import OptionError
from stylize_cli.styles import NETWORK, STYLE_DIM, Style, check_name, find, user_dir

from .conftest import PAINTING, PHOTOS

FAMOUS = {"starry-night": "The Starry Night", "the-scream": "The Scream", "great-wave": "The Great Wave",
          "composition-vii": "Composition VII", "udnie": "Udnie", "water-lilies": "Water Lilies",
          "impression-sunrise": "Impression, Sunrise"}


def test_the_famous_paintings_are_built_in_styles() -> None:
    for name, title in FAMOUS.items():
        style = find(name)
        assert style.origin == "built-in" and style.network == NETWORK and len(style.vector) == STYLE_DIM
        assert title in style.source and style.licence == "public domain", (name, style.source, style.licence)
        assert "make_gallery.py" in style.made_by and "steps" in style.made_by, style.made_by


def test_built_in_network_styles_ship_their_verified_weights() -> None:
    """At least three famous paintings are also networks; each file is there and matches its sha256."""
    from stylize_cli.models.style_network import StyleNetwork

    networks = [find(name) for name in FAMOUS if find(name).kind == "network"]
    assert len(networks) >= 3, [s.name for s in networks]
    for style in networks:
        assert isinstance(style.network_weights(), StyleNetwork)  # sha256 checked before loading
        assert "then" in style.made_by and "network" in style.made_by, style.made_by


@pytest.fixture
def mine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's style folder, with a vector style and a network style (its weights as bytes)."""
    monkeypatch.setenv("STYLIZE_DATA", str(tmp_path / "data"))
    folder = user_dir()
    folder.mkdir(parents=True)
    Style("mine", [0.5] * STYLE_DIM, source="a.jpg").save(folder / "mine.json")
    Style("café", [0.25] * STYLE_DIM, source="b.jpg").save(folder / "café.json", network=b"weights of a network")
    return folder


def invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_one_rule_for_names_checked_before_any_work(mine: Path, tmp_path: Path) -> None:
    """`--name café` was accepted, trained, then written as weights `Style.load` refused."""
    again = find("café")
    assert again.kind == "network" and again.weights_path().read_bytes() == b"weights of a network"
    assert check_name("Kirchner_2-b") == "Kirchner_2-b"
    for bad in ("my style", "../x", "a.b", "-x", "_x", ""):
        with pytest.raises(OptionError):
            check_name(bad)
        code, _, err = invoke("train-style", PAINTING, "--name", bad, "--steps", "1")
        assert code == 2 and "--name" in err and "Traceback" not in err, (bad, err)


def test_train_style_checks_its_destination_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("STYLIZE_DATA", str(tmp_path / "file"))
    began = time.perf_counter()
    code, _, err = invoke("train-style", PAINTING, "--name", "x", "--network", "--steps", "1")
    assert code == 1 and "cannot write there" in err and "Traceback" not in err, err
    assert time.perf_counter() - began < 10  # before loading a network, let alone training one


def test_an_unreadable_style_file_is_listed_not_fatal(mine: Path) -> None:
    (mine / "broken.json").write_text("{ not json")
    code, out, err = invoke("styles", "list")
    assert code == 0 and "mine" in out and "café" in out, err
    assert "unreadable, left out" in err and "broken.json" in err
    code, out, _ = invoke("styles", "list", "--json")
    assert code == 0 and {json.loads(line)["name"] for line in out.splitlines()} >= {"mine", "café", "udnie"}


def test_show_puts_the_record_before_the_numbers(mine: Path) -> None:
    code, out, _ = invoke("styles", "show", "mine")
    assert code == 0 and list(json.loads(out))[-1] == "vector" and out.index('"source":') < out.index('"vector":')


def test_remove_and_rename_your_styles(mine: Path) -> None:
    code, _, err = invoke("styles", "rename", "café", "cafe2")
    assert code == 0, err
    renamed = find("cafe2")
    assert renamed.name == "cafe2" and renamed.weights.startswith("cafe2.")
    assert renamed.weights_path().read_bytes() == b"weights of a network"
    assert sorted(p.name for p in mine.iterdir()) == sorted(["mine.json", "cafe2.json", renamed.weights])
    assert invoke("styles", "rename", "mine", "cafe2")[0] == 1  # taken: --force replaces it
    assert invoke("styles", "rename", "mine", "udnie x")[0] == 2
    code, _, err = invoke("styles", "remove", "cafe2")
    assert code == 0 and sorted(p.name for p in mine.iterdir()) == ["mine.json"], err
    code, _, err = invoke("styles", "remove", "udnie")
    assert code == 1 and "a built-in style, which cannot be changed" in err


def test_the_sheet_says_it_takes_style_names(tmp_path: Path) -> None:
    code, _, err = invoke("styles", "sheet", PHOTOS[0], PAINTING, "-o", tmp_path / "s.jpg")
    assert code == 2 and "the sheet takes style names" in err, err
