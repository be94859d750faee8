"""Batch conversion: planning, safety, shards, a real killed run, tiles."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylize_cli import Stylizer
from stylize_cli.batch import in_shard, is_complete, parse_shard, plan, style_label
from stylize_cli.errors import InputError
from stylize_cli.images import fit, load_image
from stylize_cli.tiles import starts

from .conftest import IMAGES, PAINTING, PHOTOS, WEIGHTS_MIRROR, default_sigint, need

FAST = ("--size", "64")  # adain, the default for a style image: weights shipped with the package


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Real photos, a corrupt file, a zero-byte file, a subfolder, spaces and non-ASCII."""
    root = tmp_path / "in"
    (root / "trip 2024" / "día").mkdir(parents=True)
    shutil.copy(PHOTOS[0], root / "chicago.jpg")
    shutil.copy(PHOTOS[1], root / "trip 2024" / "sail boat.jpg")
    shutil.copy(PHOTOS[2], root / "trip 2024" / "día" / "flores ñ.jpg")
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "empty.png").write_bytes(b"")
    (root / "notes.txt").write_text("not an image")
    return root


def stylize_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "stylize_cli", "run", *map(str, args)]


def test_plan_mirrors_the_tree_and_filters(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    jobs = plan([photos], out, [PAINTING, "cezanne"], recursive=True)
    names = sorted(str(j.output.relative_to(out)) for j in jobs)
    assert "trip 2024/día/flores ñ_cezanne.jpg" in names and "chicago_woman_with_hat_matisse.jpg" in names
    assert len(jobs) == 2 * 5  # 5 image files (corrupt ones included: they fail at run time), 2 styles
    assert len(plan([photos], out, [PAINTING])) == 3  # not recursive
    assert len(plan([photos], out, [PAINTING], recursive=True, pattern="*.jpg")) == 4
    assert len(plan([photos], out, [PAINTING], recursive=True, extensions=["png"])) == 1
    mixed = plan([photos], out, [PAINTING, "cezanne"], mix=True, template="{stem}.{ext}")
    assert [j.output.name for j in mixed] == ["chicago.jpg", "corrupt.jpg", "empty.png"]


@pytest.mark.parametrize("template", ["../{stem}{suffix}", "/tmp/{stem}{suffix}", "a/{stem}{suffix}", "{nope}"])
def test_output_names_cannot_escape(photos: Path, tmp_path: Path, template: str) -> None:
    with pytest.raises(InputError):
        plan([photos], tmp_path / "out", [PAINTING], template=template)


def test_symlinked_output_folder_pointing_outside_is_refused(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", out / "trip 2024")
    with pytest.raises(InputError, match="leaves the output folder"):
        plan([photos], out, [PAINTING], recursive=True)


def test_overlapping_folders_are_refused(photos: Path) -> None:
    for out in (photos, photos / "results", photos.parent):
        with pytest.raises(InputError, match="overlaps the input folder"):
            plan([photos], out, [PAINTING])


def test_two_shards_cover_every_input_exactly_once(photos: Path, tmp_path: Path) -> None:
    everything = {j.input for j in plan([photos], tmp_path / "o", [PAINTING], recursive=True)}
    halves = [{j.input for j in plan([photos], tmp_path / "o", [PAINTING], recursive=True, shard=(k, 2))}
              for k in (1, 2)]
    assert halves[0] | halves[1] == everything and not halves[0] & halves[1]
    names = [f"img{i:03d}.jpg" for i in range(200)]
    counts = [sum(in_shard(n, (k, 4)) for n in names) for k in range(1, 5)]
    assert sum(counts) == 200 and min(counts) > 30  # a fair split, independent of order


def test_parse_shard() -> None:
    assert parse_shard("2/3") == (2, 3)
    assert parse_shard("auto/4", {"SLURM_ARRAY_TASK_ID": "4"}) == (1, 4)  # arrays 1..N wrap
    assert parse_shard("auto/4", {"JOB_COMPLETION_INDEX": "2"}) == (3, 4)
    for bad in ("0/3", "4/3", "x", "auto/2"):
        with pytest.raises(InputError):
            parse_shard(bad, {})


def test_batch_run_reports_and_resumes(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = subprocess.run(stylize_cmd(photos, "-r", "-s", PAINTING, "-o", out, "--json", *FAST),
                           capture_output=True, text=True, check=False)
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert first.returncode == 3, first.stderr
    assert {r["status"] for r in records} == {"done", "failed"}
    assert sorted(r["input"].split("/")[-1] for r in records if r["status"] == "failed") == ["corrupt.jpg", "empty.png"]
    assert all(set(r) == {"input", "output", "style", "status", "seconds", "error"} for r in records)
    assert "3 done, 0 skipped, 2 failed" in first.stderr and "Traceback" not in first.stderr
    for r in records:
        if r["status"] == "done":
            assert is_complete(Path(r["output"]))
    again = subprocess.run(stylize_cmd(photos, "-r", "-s", PAINTING, "-o", out, "--json", *FAST),
                           capture_output=True, text=True, check=False)
    statuses = sorted(json.loads(line)["status"] for line in again.stdout.splitlines())
    assert statuses == ["failed", "failed", "skipped", "skipped", "skipped"]


def test_fail_fast_stops_at_the_first_failure(photos: Path, tmp_path: Path) -> None:
    done = subprocess.run(stylize_cmd(photos, "-s", PAINTING, "-o", tmp_path / "out", "--json", "--fail-fast",
                                      *FAST), capture_output=True, text=True, check=False)
    statuses = [json.loads(line)["status"] for line in done.stdout.splitlines()]
    assert done.returncode == 3 and statuses == ["done", "failed"]  # chicago, then corrupt: stop


def test_sigkill_leaves_no_partial_outputs_and_a_rerun_finishes(tmp_path: Path) -> None:
    """A real SIGKILL in the middle of a run."""
    src = tmp_path / "many"
    src.mkdir()
    for i in range(16):
        shutil.copy(PHOTOS[3], src / f"photo_{i:02d}.jpg")
    out = tmp_path / "out"
    cmd = stylize_cmd(src, "-s", PAINTING, "-o", out, "--size", "384", "-q")
    with subprocess.Popen(cmd, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(out.glob("*.jpg"))) < 3:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    written = list(out.glob("*.jpg"))
    assert 3 <= len(written) < 16, len(written)
    assert all(is_complete(p) for p in written)  # whatever is visible is whole
    rerun = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=False)
    records = [json.loads(line) for line in rerun.stdout.splitlines()]
    assert rerun.returncode == 0, rerun.stderr
    assert sum(r["status"] == "skipped" for r in records) == len(written)
    assert len(list(out.glob("*.jpg"))) == 16 and not list(out.glob(".*.part"))  # no temp file left
    assert len(list(out.glob(".*.jpg.stylize.json"))) >= 16 - len(written)  # what made each new output


@pytest.mark.mirror
@pytest.mark.slow
def test_tiles_are_seamless_and_close_to_the_whole_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_MIRROR", str(need(WEIGHTS_MIRROR)))
    photo = load_image(need(IMAGES / "content" / "golden_gate.jpg"))
    whole = np.asarray(Stylizer("cezanne", size=1024, device="cpu")(photo), np.float64)
    tiled = np.asarray(Stylizer("cezanne", size=1024, tile=256, device="cpu")(photo), np.float64)
    assert whole.shape == tiled.shape
    psnr = 10 * np.log10(255**2 / ((whole - tiled) ** 2).mean())
    assert psnr > 30, psnr  # measured 35 dB
    # No seam: the jump across tile borders is like the jump between any neighbouring columns.
    jumps = np.abs(np.diff(tiled, axis=1)).mean(axis=(0, 2))
    borders = [x - 1 for x in starts(tiled.shape[1], 256, 32)[1:]] + \
              [x + 31 for x in starts(tiled.shape[1], 256, 32)[1:]]
    assert jumps[borders].mean() < 1.5 * jumps.mean()


def test_max_size_bounds_the_working_resolution(tmp_path: Path) -> None:
    out = Stylizer(PAINTING, max_size=200, device="cpu")(PHOTOS[1])
    assert max(out.size) == 200


def test_photos_of_one_size_go_through_the_network_together(tmp_path: Path) -> None:
    """The GPU path (batch_size > 1), checked on the CPU: same pictures as one by one."""
    from stylize_cli.batch import run

    src = tmp_path / "src"
    src.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(PHOTOS[1], src / f"{name}.jpg")
    shutil.copy(PHOTOS[0], src / "d.jpg")  # another size
    (src / "e.jpg").write_bytes(b"broken")
    stylizer = Stylizer(PAINTING, size=64, device="cpu")
    label = style_label(PAINTING)
    calls: list[int] = []
    original = stylizer.method.apply
    stylizer.method.apply = lambda x, p, progress=None, **call: calls.append(len(x)) or original(x, p)  # type: ignore
    one = run(plan([src], tmp_path / "one", [PAINTING]), {label: stylizer}, batch_size=1)
    assert calls == [1, 1, 1, 1]
    calls.clear()
    many = run(plan([src], tmp_path / "many", [PAINTING]), {label: stylizer}, batch_size=8)
    assert (one.done, one.failed) == (many.done, many.failed) == (4, 1)
    assert sorted(calls) == [1, 3]  # the three same-size photos shared one pass
    for name in "abcd":
        with Image.open(tmp_path / "one" / f"{name}_{label}.jpg") as x, \
                Image.open(tmp_path / "many" / f"{name}_{label}.jpg") as y:
            assert np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)).mean() < 1.0


def test_several_styles_without_mix_batch_per_style(tmp_path: Path) -> None:
    """Jobs come photo by photo (a, b, c each with both styles); the passes must still group by style."""
    from stylize_cli.batch import run

    src = tmp_path / "src"
    src.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(PHOTOS[1], src / f"{name}.jpg")
    second = tmp_path / "second.png"
    with Image.open(PHOTOS[3]) as im:
        im.save(second)
    calls: list[int] = []
    stylizers = {}
    for style in (PAINTING, second):
        stylizer = Stylizer(style, size=64, device="cpu")
        original = stylizer.method.apply
        stylizer.method.apply = (lambda x, p, progress=None, original=original, **call:  # type: ignore
                                 calls.append(len(x)) or original(x, p))
        stylizers[style_label(style)] = stylizer
    jobs = plan([src], tmp_path / "out", [PAINTING, second])
    assert [j.input.name for j in jobs] == ["a.jpg", "a.jpg", "b.jpg", "b.jpg", "c.jpg", "c.jpg"]
    report = run(jobs, stylizers, batch_size=8)
    assert report.done == 6 and calls == [3, 3]


def test_a_full_disk_stops_the_run_at_the_first_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk once failed every remaining photo, one line each (2 done, 30 failed): now the run stops
    at the first "no space left", exit 1, and the summary says why. No partial files, as before."""
    from stylize_cli.batch import run

    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        shutil.copy(PHOTOS[1], src / f"{i}.jpg")
    jobs = plan([src], tmp_path / "out", ["cezanne"])
    stylizer = Stylizer(PAINTING, size=64, device="cpu")
    saves: list[int] = []
    real_save = Image.Image.save

    def filling(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        saves.append(1)
        if len(saves) > 1:  # the first photo fits; then the disk is full
            raise OSError(28, "No space left on device")
        real_save(self, fp, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "save", filling)
    records: list[dict[str, object]] = []
    report = run(jobs, {"cezanne": stylizer}, on_record=records.append)
    assert (report.done, report.failed, report.exit_status) == (1, 1, 1)
    assert [r["status"] for r in records] == ["done", "failed"]  # the other two are not tried
    assert records[1]["error"] == f"{tmp_path / 'out' / '1_cezanne.jpg'}: could not save (no space left on the device)"
    assert report.summary().startswith(f"stopped: no space left on the device ({tmp_path / 'out'}); 1 done")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".0_cezanne.jpg.stylize.json", "0_cezanne.jpg"]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_the_whole_batch(tmp_path: Path, signum: int) -> None:
    """A real signal while gatys works on the second of three photos: the run stops there, keeps the
    first output, leaves no temporary file, says it was interrupted and exits 130."""
    src = tmp_path / "src"
    src.mkdir()
    for i, photo in enumerate(PHOTOS[:3]):
        shutil.copy(photo, src / f"{i}.jpg")
    out = tmp_path / "out"
    cmd = stylize_cmd(src, "-s", PAINTING, "-o", out, "-m", "gatys", "--size", "64", "--start-size", "64",
                      "--iterations", "400", "--tolerance", "0", "--json", "-q")
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=default_sigint) as proc:  # noqa: PLW1509 (the child has no threads yet)
        assert proc.stdout is not None and proc.stderr is not None
        first = json.loads(proc.stdout.readline())  # the first photo is done: the second is under way
        assert first["status"] == "done", first
        proc.send_signal(signum)
        rest, err = proc.stdout.read(), proc.stderr.read()
        assert proc.wait(60) == 130, err
    assert rest == "" and "Traceback" not in err
    assert "interrupted: 1 done, 0 skipped, 0 failed" in err, err
    done = Path(first["output"]).name
    assert sorted(p.name for p in out.iterdir()) == [f".{done}.stylize.json", done]  # no .part file
    assert is_complete(Path(first["output"]))


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(stylize_cmd(*args), capture_output=True, text=True, check=False)


def test_two_jobs_never_share_an_output(tmp_path: Path) -> None:
    """Two `done` records and one file, before: x.jpg in two folders, x.png beside x.PNG, --name."""
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    for folder in (a, b, c):
        folder.mkdir()
    shutil.copy(PHOTOS[0], a / "x.jpg")
    shutil.copy(PHOTOS[1], b / "x.jpg")
    Image.open(PHOTOS[0]).save(c / "y.png")
    Image.open(PHOTOS[1]).save(c / "y.PNG")
    shutil.copy(PHOTOS[2], c / "z.jpg")
    out = tmp_path / "out"
    for sources, template, first, second in (([a, b], "{stem}_{style}{suffix}", a / "x.jpg", b / "x.jpg"),
                                             ([c], "{stem}_{style}{suffix}", c / "y.PNG", c / "y.png"),
                                             ([c], "same.jpg", c / "y.PNG", c / "y.png")):
        with pytest.raises(InputError) as caught:
            plan(sources, out, [PAINTING], template=template)
        assert str(first) in str(caught.value) and str(second) in str(caught.value)
        done = _run(*sources, "--name", template, "-s", PAINTING, "-o", out, *FAST)
        assert done.returncode == 2 and "would both be written to" in done.stderr, done.stderr
        assert str(first) in done.stderr and str(second) in done.stderr and not out.exists()


def test_a_glob_keeps_the_tree_below_its_folders(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    for day in ("mon", "tue"):
        (shots / day).mkdir(parents=True)
        Image.open(PHOTOS[0]).resize((40, 30)).save(shots / day / "x.png")
    jobs = plan([str(shots / "**" / "*.png")], tmp_path / "out", [PAINTING], recursive=True)
    assert sorted(j.output.relative_to(tmp_path / "out").as_posix() for j in jobs) == [
        "mon/x_woman_with_hat_matisse.png", "tue/x_woman_with_hat_matisse.png"]


def test_a_batch_never_writes_over_its_inputs(tmp_path: Path) -> None:
    shutil.copy(PHOTOS[0], tmp_path / "a.jpg")
    shutil.copy(PHOTOS[1], tmp_path / "b.jpg")
    before = (tmp_path / "a.jpg").read_bytes()
    done = _run(tmp_path / "a.jpg", tmp_path / "b.jpg", "-s", PAINTING, "-o", tmp_path, "--name", "{stem}{suffix}",
                "--overwrite", *FAST)
    assert done.returncode == 1 and "is one of the batch's own inputs" in done.stderr, done.stderr
    assert (tmp_path / "a.jpg").read_bytes() == before


def test_dry_run_lists_the_plan_and_what_would_be_skipped(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    shutil.copy(PHOTOS[0], out / "chicago_woman_with_hat_matisse.jpg")
    done = _run(photos, "-s", PAINTING, "-o", out, "--dry-run", "--json")
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert [(Path(r["output"]).name, r["status"]) for r in records] == [
        ("chicago_woman_with_hat_matisse.jpg", "exists"), ("corrupt_woman_with_hat_matisse.jpg", "planned"),
        ("empty_woman_with_hat_matisse.png", "planned")]
    assert sorted(p.name for p in out.iterdir()) == ["chicago_woman_with_hat_matisse.jpg"]  # wrote nothing
    text = _run(photos, "-s", PAINTING, "-o", out, "--dry-run")
    assert "skip  " in text.stdout and "2 to make, 1 would be skipped" in text.stderr


def test_a_rerun_with_other_settings_says_so(tmp_path: Path) -> None:
    """A rerun with another --alpha once said "0 done, 2 skipped" and kept the old pictures silently."""
    src = tmp_path / "in"
    src.mkdir()
    for photo in PHOTOS[:2]:
        shutil.copy(photo, src)
    out = tmp_path / "out"
    assert _run(src, "-s", PAINTING, "-o", out, *FAST).returncode == 0
    first = {p.name: p.read_bytes() for p in out.glob("*.jpg")}
    same = _run(src, "-s", PAINTING, "-o", out, *FAST)
    assert "0 done, 2 skipped, 0 failed" in same.stderr, same.stderr
    other = _run(src, "-s", PAINTING, "-o", out, "--alpha", "0.5", "--json", *FAST)
    assert "0 done, 2 skipped (2 made with other settings: --overwrite redoes them)" in other.stderr, other.stderr
    assert all(json.loads(line)["note"].startswith("made with other settings") for line in other.stdout.splitlines())
    redo = _run(src, "-s", PAINTING, "-o", out, "--alpha", "0.5", "--overwrite", *FAST)
    assert "2 done, 0 skipped" in redo.stderr
    assert all(first[p.name] != p.read_bytes() for p in out.glob("*.jpg"))
    after = _run(src, "-s", PAINTING, "-o", out, "--alpha", "0.5", *FAST)
    assert "0 done, 2 skipped, 0 failed" in after.stderr, after.stderr


def test_a_folder_with_images_only_in_subfolders_hints_at_r(tmp_path: Path) -> None:
    (tmp_path / "in" / "day1").mkdir(parents=True)
    shutil.copy(PHOTOS[0], tmp_path / "in" / "day1" / "a.jpg")
    done = _run(tmp_path / "in", tmp_path / "in2", "-s", PAINTING, "-o", tmp_path / "out")
    assert done.returncode == 1 and "no such file or folder" in done.stderr  # in2 is missing
    (tmp_path / "in2").mkdir()
    done = _run(tmp_path / "in", tmp_path / "in2", "-s", PAINTING, "-o", tmp_path / "out")
    assert done.returncode == 1 and f"images lie in subfolders of {tmp_path / 'in'}: add -r" in done.stderr, done.stderr


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    """A pool of five paintings unlike each other: Matisse, and four generated patterns of their own
    colours and shapes (stripes, checks, dots, waves), some in a subfolder."""
    folder = tmp_path / "paintings"
    (folder / "more").mkdir(parents=True)
    shutil.copy(PAINTING, folder / "matisse.jpg")
    y, x = np.mgrid[0:256, 0:256]
    patterns = {"stripes": ((x // 16) % 2, (255, 200, 0), (200, 0, 0)),
                "checks": (((x // 32) + (y // 32)) % 2, (20, 40, 200), (240, 240, 255)),
                "dots": (((x % 24 - 12) ** 2 + (y % 24 - 12) ** 2) < 40, (0, 120, 30), (230, 220, 180)),
                "waves": (np.sin(x / 9 + np.sin(y / 13) * 3) > 0, (120, 0, 140), (250, 150, 200))}
    for i, (name, (mask, a, b)) in enumerate(patterns.items()):
        picture = np.where(mask[..., None].astype(bool), np.array(a), np.array(b)).astype(np.uint8)
        Image.fromarray(picture).save((folder / "more" if i % 2 else folder) / f"{name}.png")
    return folder


def test_random_draws_are_a_function_of_the_seed_and_the_path(photos: Path, pool: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    one = plan([photos], out, [pool], recursive=True, draws=1, seed=0)
    assert [j.painting for j in one] == [j.painting for j in plan([photos], out, [pool], recursive=True, draws=1)]
    assert len(one) == 5 and all(Path(j.painting).parent in (pool, pool / "more") for j in one)
    assert len({j.painting for j in one}) > 1
    others = [plan([photos], out, [pool], recursive=True, draws=1, seed=s) for s in range(1, 6)]
    assert any([j.painting for j in o] != [j.painting for j in one] for o in others)  # another seed, another draw
    two = plan([photos], out, [pool], recursive=True, draws=2, seed=0)
    by_photo: dict[Path, list[str]] = {}
    for job in two:
        by_photo.setdefault(job.input, []).append(job.painting)
    assert all(len(set(p)) == 2 for p in by_photo.values())  # two different paintings per photo
    shards = [job for k in (1, 2, 3) for job in plan([photos], out, [pool], recursive=True, draws=1,
                                                      shard=(k, 3))]
    assert sorted(map(str, shards)) == sorted(map(str, one))  # every shard draws what one run draws
    with pytest.raises(InputError, match="only 5 paintings"):
        plan([photos], out, [pool], draws=6)


@pytest.mark.mirror
def test_random_paintings_end_to_end_record_the_painting_used(tmp_path: Path) -> None:
    """Stylized-ImageNet's recipe: each photo gets a random painting from a folder; the record names
    it, and the judge's Gram features agree it is the painting the output was made with."""
    pool = tmp_path / "paintings"
    (pool / "more").mkdir(parents=True)
    for i, name in enumerate(("starry_night.jpg", "the_scream.jpg", "mondrian_cropped.jpg", "udnie.jpg",
                              "woman_with_hat_matisse.jpg")):
        shutil.copy(need(IMAGES / "style" / name), (pool / "more" if i % 2 else pool) / name)
    src = tmp_path / "in" / "cats"
    src.mkdir(parents=True)
    for i in range(3):
        Image.open(PHOTOS[i]).convert("RGB").save(src / f"{i}.jpg")
    out = tmp_path / "out"
    done = _run(tmp_path / "in", "-r", "-s", pool, "--random", "1", "--seed", "7", "-o", out, "--json", "--size", "128")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 3 and all(r["seed"] == 7 and Path(r["painting"]).is_file() for r in records)
    assert all(Path(r["output"]).parent == out / "cats" for r in records)  # class folders kept
    from stylize_cli import ops
    from stylize_cli.layers import GRAM_STYLE_LAYERS
    from stylize_cli.models.vgg import load_vgg19

    vgg = load_vgg19()

    def grams(image: torch.Tensor) -> torch.Tensor:  # the judge's Grams, each layer relative to its size
        feats = vgg(fit(image, 128), GRAM_STYLE_LAYERS)
        return torch.cat([ops.gram(feats[k]).flatten() / ops.gram(feats[k]).norm() for k in GRAM_STYLE_LAYERS])

    paintings = {str(p): grams(load_image(p).rgb) for p in sorted(pool.rglob("*")) if p.is_file()}
    for r in records:
        made = grams(load_image(r["output"]).rgb)
        distances = {p: float((made - g).norm()) for p, g in paintings.items()}
        assert min(distances, key=distances.__getitem__) == r["painting"], (r, distances)
    again = _run(tmp_path / "in", "-r", "-s", pool, "--random", "1", "--seed", "7", "-o", out, "--json",
                 "--size", "128")
    assert [json.loads(line)["status"] for line in again.stdout.splitlines()] == ["skipped"] * 3


def test_alpha_range_draws_a_strength_per_output_and_uses_it(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.open(PHOTOS[i]).convert("RGB").save(src / f"{i}.png")
    jobs = plan([src], tmp_path / "out", [PAINTING], alpha_range=(0.2, 0.9), seed=3)
    assert all(0.2 <= j.alpha <= 0.9 for j in jobs) and len({j.alpha for j in jobs}) == 3  # type: ignore[operator]
    assert [j.alpha for j in plan([src], tmp_path / "out", [PAINTING], alpha_range=(0.2, 0.9), seed=3)] == \
        [j.alpha for j in jobs]
    with pytest.raises(InputError, match="0 <= LOW <= HIGH <= 1"):
        plan([src], tmp_path / "out", [PAINTING], alpha_range=(0.9, 0.2))
    out = tmp_path / "out"
    done = _run(src, "-s", PAINTING, "-o", out, "--alpha-range", "0.2,0.9", "--seed", "3", "--json", *FAST)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["alpha"] for r in records] == [j.alpha for j in jobs] and {r["seed"] for r in records} == {3}
    stylizer = Stylizer(PAINTING, size=64, device="cpu")
    for r in records:  # the recorded strength is the one the picture was made with
        again = np.asarray(stylizer(r["input"], alpha=r["alpha"]), np.int16)
        assert np.abs(np.asarray(Image.open(r["output"]), np.int16) - again).max() <= 1, r
    other = _run(src, "-s", PAINTING, "-o", out, "--alpha-range", "0.2,0.9", "--seed", "4", *FAST)
    assert "(3 made with other settings" in other.stderr, other.stderr  # other strengths: said, not redone


def test_a_paintings_preparation_is_kept_by_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool of paintings is encoded once across runs and shards: the second stylizer of a painting
    reads its statistics from the cache (the encoder is not run) and paints the same picture."""
    painting = tmp_path / "renamed copy.jpg"
    shutil.copy(PAINTING, painting)
    photo = Image.open(PHOTOS[0]).convert("RGB")
    first = Stylizer(painting, size=64, device="cpu")
    before = np.asarray(first(photo), np.int16)
    cached = list((tmp_path / "cache" / "prepared" / "adain").glob("*.pt"))
    assert len(cached) == 1
    second = Stylizer(painting, size=64, device="cpu")
    encoded: list[int] = []
    original = second.method.model.style_stats  # type: ignore[attr-defined]
    monkeypatch.setattr(second.method.model, "style_stats", lambda x: encoded.append(1) or original(x))  # type: ignore[attr-defined]
    assert np.abs(np.asarray(second(photo), np.int16) - before).max() <= 1 and encoded == []
    Stylizer(painting, size=64, style_size=256, device="cpu")(photo)  # other settings: another entry
    assert len(list(cached[0].parent.glob("*.pt"))) == 2
    cached[0].write_bytes(b"damaged")  # a file that does not read back is prepared again
    third = Stylizer(painting, size=64, device="cpu")
    assert np.abs(np.asarray(third(photo), np.int16) - before).max() <= 1


def test_a_painting_replaced_in_place_is_prepared_again(tmp_path: Path) -> None:
    """Digests are read once per process, so a painting overwritten under the same name between two
    stylizers must not get the old painting's statistics from the cache."""
    painting = tmp_path / "painting.jpg"
    shutil.copy(PAINTING, painting)
    photo = Image.open(PHOTOS[0]).convert("RGB")
    before = np.asarray(Stylizer(painting, size=64, device="cpu")(photo), np.int16)
    Image.open(PAINTING).convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM).rotate(90).save(painting)
    os.utime(painting, ns=(1, 1))  # another mtime even where the clock did not move
    after = np.asarray(Stylizer(painting, size=64, device="cpu")(photo), np.int16)
    fresh = np.asarray(Stylizer(Image.open(painting).convert("RGB"), size=64, device="cpu")(photo), np.int16)
    assert np.abs(after - fresh).max() <= 1 and np.abs(after - before).max() > 10


def test_drawn_paintings_and_strengths_share_a_pass(pool: Path, tmp_path: Path) -> None:
    """On a GPU (batch_size > 1) photos with different drawn paintings and strengths go through the
    network together (adain takes per-sample statistics), and make what they make one by one."""
    from stylize_cli.batch import run
    from stylize_cli.recent import Recent

    src = tmp_path / "src"
    src.mkdir()
    for name in "abcd":
        shutil.copy(PHOTOS[1], src / f"{name}.jpg")
    calls: list[int] = []

    def make(label: str) -> Stylizer:
        stylizer = Stylizer(by_label[label], size=64, device="cpu")
        original = stylizer.method.apply
        stylizer.method.apply = (lambda x, *a, original=original, **k:  # type: ignore[method-assign]
                                 calls.append(len(x)) or original(x, *a, **k))
        return stylizer

    jobs = {n: plan([src], tmp_path / n, [pool], recursive=True, draws=1, seed=1, alpha_range=(0.3, 1.0))
            for n in ("one", "many")}
    by_label = {j.style: j.painting for j in jobs["one"]}
    assert len(by_label) > 1
    assert run(jobs["one"], Recent(make, keep=16), batch_size=1).done == 4 and calls == [1, 1, 1, 1]
    calls.clear()
    assert run(jobs["many"], Recent(make, keep=16), batch_size=8).done == 4 and calls == [4]
    for one, many in zip(jobs["one"], jobs["many"], strict=True):
        with Image.open(one.output) as x, Image.open(many.output) as y:
            assert np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)).mean() < 1.0
