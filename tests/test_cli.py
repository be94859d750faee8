"""The command line: one-line errors with the file and cause, exit statuses, real runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from stylize_cli.cli import cli

from .conftest import PAINTING, PHOTOS, WEIGHTS_MIRROR, default_sigint, need

CONTENT = PHOTOS[0]
STYLE = PAINTING
FAST = ["--size", "32", "-q"]  # adain, the default for style images


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stderr


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stylize: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_one_photo_is_one_photo_whatever_the_flags(tmp_path: Path) -> None:
    """`-o out.jpg --overwrite` once made a folder out.jpg/; a batch-only flag decided the mode."""
    out = tmp_path / "out.jpg"
    for extra in ([], ["--overwrite"], ["--overwrite", "--json"], ["--mix"]):
        result = CliRunner().invoke(cli, ["run", str(CONTENT), "-s", str(STYLE), "-o", str(out), *FAST, *extra])
        assert result.exit_code == 0, (extra, result.stderr)
        assert out.is_file(), extra
    record = json.loads(CliRunner().invoke(cli, ["run", str(CONTENT), "-s", str(STYLE), "-o", str(out), *FAST,
                                                 "--json"]).stdout)
    assert record["output"] == str(out) and record["status"] == "done" and record["input"] == str(CONTENT)
    folder = tmp_path / "results"
    folder.mkdir()
    code, err = invoke("run", CONTENT, "-s", STYLE, "-o", folder, *FAST)
    assert code == 0, err
    assert [p.name for p in folder.iterdir()] == ["chelsea_stylized_woman_with_hat_matisse.jpg"]
    for flag in (["--glob", "*.jpg"], ["-r"], ["--ext", "jpg"], ["--name", "{stem}.png"], ["--shard", "1/2"],
                 ["--fail-fast"]):
        code, err = invoke("run", CONTENT, "-s", STYLE, "-o", tmp_path / "x.jpg", *FAST, *flag)
        name = {"-r": "--recursive"}.get(flag[0], flag[0])
        assert code == 2 and f"{name} applies to batches" in err and "Traceback" not in err, (flag, err)
    assert not (tmp_path / "x.jpg").exists()
    code, err = invoke("run", CONTENT, PHOTOS[1], "-s", STYLE, "-o", out, *FAST)  # two photos: a batch
    assert code == 2 and "a batch writes into a folder" in err and out.is_file(), err


def test_a_value_out_of_a_methods_bounds_is_a_usage_error(tmp_path: Path) -> None:
    """The bound lives in the method's config; the command line reports it as exit 2, before any work."""
    for method, args, needle in (("adain", ["--style-size", "20"], "--style-size must be at least 32, got 20"),
                                 ("gatys", ["--style-size", "8"], "--style-size must be at least 16, got 8"),
                                 ("adain", ["--alpha", "1.5"], "--alpha must be at most 1, got 1.5"),
                                 ("gatys", ["--iterations", "0"], "--iterations must be at least 1, got 0"),
                                 ("adain", ["--max-size", "4"], "--max-size must be at least 16, got 4"),
                                 ("gatys", ["--style-layers", "relu1_1,relu9_1"],
                                  "--style-layers relu9_1: not a layer of vgg19"),
                                 ("gatys", ["--loss-net", "mobilenet", "--content-layer", "relu4_2"],
                                  "--content-layer relu4_2: not a layer of mobilenet")):
        code, err = invoke("run", CONTENT, "-s", STYLE, "-m", method, "-o", tmp_path / "o.jpg", "-q", *args)
        assert code == 2 and needle in err and "Traceback" not in err, (args, err)
        assert " run [OPTIONS]" in err  # the usage line of the command, as click gives for its own errors
    assert not (tmp_path / "o.jpg").exists()


def test_every_option_flag_is_declared_once() -> None:
    """A cheap guard against two options claiming the same flag (rich-cli's trick)."""
    for command in (cli.commands["run"], cli.commands["demo"]):
        flags = [flag for p in command.params for flag in getattr(p, "opts", [])]
        assert len(flags) == len(set(flags))


def test_bad_inputs_give_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jpg"
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    data = CONTENT.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    Image.new("1", (12_000, 12_000)).save(tmp_path / "bomb.png")
    cases = [
        (tmp_path / "missing.jpg", STYLE, "missing.jpg: no such file"),
        (tmp_path / "empty.jpg", STYLE, "empty.jpg: file is empty"),
        (tmp_path / "text.jpg", STYLE, "text.jpg: not an image"),
        (tmp_path / "cut.jpg", STYLE, "cut.jpg: truncated or corrupt image"),
        (tmp_path / "bomb.png", STYLE, "bomb.png: 12000x12000 is 144 megapixels"),
        (CONTENT, tmp_path / "text.jpg", "text.jpg: not an image"),
    ]
    for content, style, needle in cases:
        code, err = invoke("run", content, "--style", style, "-o", out, *FAST)
        assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_output_problems_are_found_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, err = invoke("run", CONTENT, "--style", STYLE, "-o", tmp_path / "file" / "out.jpg", *FAST)
    assert_one_line_error(code, err, "out.jpg: cannot write there")
    code, err = invoke("run", CONTENT, "--style", STYLE, "-o", tmp_path / "out.gif", *FAST)
    assert_one_line_error(code, err, "out.gif: unknown output format")


def test_unknown_device_and_unavailable_cuda(tmp_path: Path) -> None:
    code, err = invoke("run", CONTENT, "--style", STYLE, "-o", tmp_path / "o.jpg", "--device", "tpu", *FAST)
    assert_one_line_error(code, err, "unknown device 'tpu'")
    import torch

    if not torch.cuda.is_available():
        code, err = invoke("run", CONTENT, "--style", STYLE, "-o", tmp_path / "o.jpg", "--device", "cuda", *FAST)
        assert_one_line_error(code, err, "no CUDA GPU")


def test_style_weights_must_match_styles(tmp_path: Path) -> None:
    code, err = invoke("run", CONTENT, "--style", STYLE, "-w", "1", "-w", "2", "-o", tmp_path / "o.jpg")
    assert code == 2 and "2 values for 1 --style images" in err and "Traceback" not in err


def test_run_writes_the_image_and_keeps_alpha(tmp_path: Path) -> None:
    src = tmp_path / "logo.png"
    with Image.open(CONTENT) as im:
        rgba = im.convert("RGBA").resize((60, 40))
    rgba.putalpha(Image.linear_gradient("L").resize((60, 40)))
    rgba.save(src)
    code, err = invoke("run", src, "--style", STYLE, *FAST, "-o", tmp_path / "out.png")
    assert code == 0, err
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "RGBA" and out.size == (32, 21)


def test_default_output_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = invoke("run", CONTENT, "--style", STYLE, *FAST)
    assert code == 0, err
    assert (tmp_path / "chelsea_stylized_woman_with_hat_matisse.jpg").is_file()


def test_demo_runs_on_the_shipped_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--size", "48"])
    assert result.exit_code == 0, result.stderr
    assert "(adain)" in result.stderr and "with adain on" in result.stderr and "Wrote stylize-demo.jpg" in result.stderr
    with Image.open(tmp_path / "stylize-demo.jpg") as im:
        assert im.size == (48, 32)
    result = CliRunner().invoke(cli, ["demo", "--size", "48", "--iterations", "2", "-o", "g.jpg"])
    assert result.exit_code == 0 and "(gatys)" in result.stderr, result.stderr  # a gatys option picks gatys


@pytest.mark.mirror
def test_weights_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_MIRROR", str(need(WEIGHTS_MIRROR)))
    runner = CliRunner()
    listed = runner.invoke(cli, ["weights", "list", "--json"])
    assert listed.exit_code == 0 and '"name": "vgg19"' in listed.stdout and '"status": "missing"' in listed.stdout
    fetched = runner.invoke(cli, ["weights", "fetch", "magenta-arbitrary-transfer-f16"])
    assert fetched.exit_code == 0, fetched.output
    verified = runner.invoke(cli, ["weights", "verify", "magenta-arbitrary-transfer-f16", "vgg19"])
    assert verified.exit_code == 0 and verified.stdout.count("ok ") == 2
    cached = tmp_path / "cache" / "magenta-arbitrary-transfer-f16" / "style_transfer_f16_384.tflite"
    with open(cached, "r+b") as fh:  # flip one byte: verify must notice
        fh.seek(500)
        byte = fh.read(1)
        fh.seek(500)
        fh.write(bytes([byte[0] ^ 1]))
    verified = runner.invoke(cli, ["weights", "verify"])
    assert verified.exit_code == 1 and "corrupt  magenta-arbitrary-transfer-f16" in verified.stdout
    path = runner.invoke(cli, ["weights", "path"])
    assert path.stdout.strip() == str(tmp_path / "cache")
    unknown = runner.invoke(cli, ["weights", "fetch", "nope"])
    assert unknown.exit_code == 1 and "no weights named 'nope'" in unknown.stderr


def test_offline_fetch_names_the_missing_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_OFFLINE", "1")
    code, err = invoke("weights", "fetch", "magenta-arbitrary-predict-int8")
    assert_one_line_error(code, err, "style_predict_quantized_256.tflite", "STYLIZE_OFFLINE=1")


def test_ctrl_c_writes_the_image_so_far_and_exits_130(tmp_path: Path) -> None:
    """A real SIGINT to a real `stylize` process. An interruption is not a user error: no
    `except StylizeError` may swallow it."""
    from stylize_cli.errors import Interrupted, StylizeError

    assert not issubclass(Interrupted, StylizeError) and issubclass(Interrupted, KeyboardInterrupt)
    out = tmp_path / "partial.png"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
            [sys.executable, "-m", "stylize_cli", "run", str(CONTENT), "--style", str(STYLE),
             "-m", "gatys", "--size", "96", "--iterations", "100000", "--tolerance", "0", "-o", str(out)],
            stderr=subprocess.PIPE, text=True, env=env,
            # a shell's background job (`pytest &` in a script) has SIGINT ignored, and children inherit that
            preexec_fn=default_sigint) as proc:  # noqa: PLW1509 (the child has no threads yet)
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("Stylizing")
        line = proc.stderr.readline()  # the first plain progress line: optimizing now
        assert "step 1/100000" in line, line
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(30) == 130, rest
    assert "wrote the image so far" in rest and "Traceback" not in rest
    with Image.open(out) as im:
        assert im.size == (96, 64)


def test_commands_that_compute_nothing_do_not_import_torch() -> None:
    """`stylize --help` took 2.3 s, all of it the torch import; bench/startup.py times it."""
    code = ("import sys\nfrom stylize_cli.cli import cli\n"
            "for args in (['--help'], ['styles', 'list', '--json'], ['weights', 'list', '--json'],\n"
            "             ['run', '--help']):\n"
            "    try:\n        cli(args)\n    except SystemExit as exit:\n        assert exit.code == 0, args\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr[-500:]


def test_one_photo_never_replaces_its_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`-o photo.jpg` once exited 0 and the original was gone; so did `-o painting.jpg`."""
    monkeypatch.chdir(tmp_path)
    photo, painting = tmp_path / "photo.jpg", tmp_path / "painting.jpg"
    photo.write_bytes(CONTENT.read_bytes())
    painting.write_bytes(STYLE.read_bytes())
    (tmp_path / "link.jpg").symlink_to(photo)
    os.link(painting, tmp_path / "hard.jpg")
    originals = {p: p.read_bytes() for p in (photo, painting)}
    for target in ("photo.jpg", "./photo.jpg", str(photo), "sub/../photo.jpg", "painting.jpg", "link.jpg",
                   "hard.jpg"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        code, err = invoke("run", "photo.jpg", "-s", "painting.jpg", "-o", target, *FAST)
        assert_one_line_error(code, err, "writing there would replace it")
    assert all(p.read_bytes() == data for p, data in originals.items())
    code, err = invoke("run", "photo.jpg", "-s", "painting.jpg", "--mask", "photo.jpg", "-o", "photo.jpg", *FAST)
    assert code in (1, 2) and photo.read_bytes() == originals[photo]


def test_one_photo_into_a_new_folder_and_mixes_named_by_all_their_styles(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = invoke("run", CONTENT, "-s", STYLE, "-o", "newdir/", *FAST)
    assert code == 0, err
    assert [p.name for p in (tmp_path / "newdir").iterdir()] == ["chelsea_stylized_woman_with_hat_matisse.jpg"]
    other = tmp_path / "other.jpg"
    other.write_bytes(PHOTOS[1].read_bytes())
    for weights, name in (([], "chelsea_stylized_woman_with_hat_matisse+other.jpg"),
                          (["-w", "2", "-w", "1"], "chelsea_stylized_woman_with_hat_matisse2+other1.jpg")):
        code, err = invoke("run", CONTENT, "-s", STYLE, "-s", other, *weights, *FAST)
        assert code == 0 and (tmp_path / name).is_file(), (name, err)


def test_dry_run_says_what_would_be_written_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "o.jpg"
    result = CliRunner().invoke(cli, ["run", str(CONTENT), "-s", str(STYLE), "-o", str(out), "--dry-run", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"input": str(CONTENT), "output": str(out), "status": "planned"}
    assert not out.exists()


def test_a_transparent_png_into_jpeg_goes_onto_white(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pixels behind a cut-out used to show in a JPEG: alpha was dropped, not composited."""
    from stylize_cli import images

    monkeypatch.setattr(images, "_flattened", set())  # said once per process: a fresh process here
    src = tmp_path / "cutout.png"
    with Image.open(CONTENT) as im:
        rgba = im.convert("RGBA").resize((64, 64))
    alpha = Image.new("L", (64, 64), 255)
    alpha.paste(0, (0, 0, 32, 64))  # the left half is cut out
    rgba.putalpha(alpha)
    rgba.save(src)
    result = CliRunner().invoke(cli, ["run", str(src), "-s", str(STYLE), "--size", "64", "-o", str(tmp_path / "o.jpg")])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("transparent parts are put on white") == 1
    with Image.open(tmp_path / "o.jpg") as out:
        pixels = np.asarray(out.convert("RGB"), dtype=float)
    assert pixels[:, :28].min() > 245  # white where it was transparent (JPEG blurs the edge)
    assert pixels[:, 36:].mean() < 200  # the painted photo where it was opaque


def test_mistakes_are_usage_errors_before_any_work(tmp_path: Path) -> None:
    """Exit 2 (the README's status for a bad command line), found before "Stylizing"."""
    two = ["-s", STYLE, "-s", PHOTOS[1]]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(CONTENT.read_bytes())
    cases = [
        ([CONTENT, "-s", STYLE, "--iterations", "5"], "--iterations is not an option of adain"),
        ([folder, "-s", STYLE, "--shard", "0/2"], "--shard 0/2: K must be between 1 and 2"),
        ([folder, "-s", STYLE, "--name", "{bogus}.jpg"], "--name '{bogus}.jpg': unknown field 'bogus'"),
        ([folder, "-s", STYLE, "--name", "{stem}"], "which has no image extension"),
        ([CONTENT, "-s", STYLE, "--mask", PHOTOS[1]], "--mask needs exactly two styles"),
        ([CONTENT, *two, "-w", "0", "-w", "0"], "--style-weight must be non-negative with a positive sum"),
        ([CONTENT, "-s", STYLE, "--size", "100000"], "--size 100000 allows pictures of up to 10,000 megapixels"),
        ([CONTENT, "-s", STYLE, "--precision", "fp16", "--device", "cpu"], "--precision fp16 has no fast arithmetic"),
    ]
    for args, needle in cases:
        out = tmp_path / "out" if args[0] == folder else tmp_path / "o.jpg"
        code, err = invoke("run", *args, "-o", out)
        assert code == 2 and needle in err and "Traceback" not in err, (args, err)
        assert "Stylizing" not in err
    assert not (tmp_path / "o.jpg").exists() and not (tmp_path / "out").exists()


def test_a_bad_pixel_limit_is_an_error_not_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_MAX_PIXELS", "abc")
    code, err = invoke("run", CONTENT, "-s", STYLE, "-o", tmp_path / "o.jpg", *FAST)
    assert_one_line_error(code, err, "STYLIZE_MAX_PIXELS='abc': not a positive whole number")


def test_pipes_read_standard_input_and_write_standard_output(tmp_path: Path) -> None:
    """`cat a.jpg | stylize run - -s painting.jpg -o - | ...`: PNG unless --format says otherwise,
    messages only on stderr."""
    import io

    photo = CONTENT.read_bytes()
    for extra, kind in (([], "PNG"), (["--format", "jpg"], "JPEG"), (["--format", "webp"], "WEBP")):
        result = CliRunner().invoke(cli, ["run", "-", "-s", str(STYLE), "-o", "-", "--size", "48", *extra],
                                    input=photo)
        assert result.exit_code == 0, result.stderr
        with Image.open(io.BytesIO(result.stdout_bytes)) as out:
            assert out.format == kind and out.size == (48, 32)
        assert "standard output" in result.stderr
    piped = subprocess.run(f"cat {CONTENT} | {sys.executable} -m stylize_cli run - -s {STYLE} -o - --size 32 -q "
                           f"| {sys.executable} -c 'import sys; sys.stdout.write(str(len(sys.stdin.buffer.read())))'",
                           shell=True, capture_output=True, text=True, check=True)
    assert int(piped.stdout) > 1000 and piped.stderr == ""
    code = CliRunner().invoke(cli, ["run", "-", "-s", str(STYLE), "-o", str(tmp_path / "from_stdin.png"), *FAST],
                              input=photo).exit_code
    assert code == 0 and (tmp_path / "from_stdin.png").is_file()


def test_empty_or_non_image_standard_input_is_one_line_and_nothing_on_stdout() -> None:
    for data, needle in ((b"", "-: empty input (0 bytes)"), (b"hello, not an image", "-: not an image")):
        result = CliRunner().invoke(cli, ["run", "-", "-s", str(STYLE), "-o", "-", *FAST], input=data)
        assert_one_line_error(result.exit_code, result.stderr, needle)
        assert result.stdout_bytes == b""
    for args in (["-o", "out.png", "--format", "jpg"], ["-o", "-", "--json"]):
        result = CliRunner().invoke(cli, ["run", str(CONTENT), "-s", str(STYLE), *args, *FAST])
        assert result.exit_code == 2 and result.stdout_bytes == b"", result.stderr
