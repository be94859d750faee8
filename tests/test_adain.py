"""AdaIN: the math, the encoder normalisation, train-decoder's plumbing, the shipped decoder end to end."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from stylize_cli import Stylizer, ops, weights
from stylize_cli.cli import cli
from stylize_cli.errors import InputError
from stylize_cli.images import load_image
from stylize_cli.layers import ADAIN_STYLE_LAYERS as STYLE_LAYERS
from stylize_cli.losses import judge
from stylize_cli.methods.adain import DECODER
from stylize_cli.methods.sanet import NETWORK
from stylize_cli.models.adain import Decoder, Encoder, channel_means
from stylize_cli.models.vgg import load_vgg19
from stylize_cli.samples import data_path
from stylize_cli.train.adain import losses
from stylize_cli.train.decoder import decoder_path, log_path
from stylize_cli.train.decoder_state import DecoderCheckpoint, TrainDecoderConfig, average
from stylize_cli.train.loop import Record

from .conftest import IMAGES, PAINTING, PHOTOS, need

CHICAGO = IMAGES / "content" / "chicago.jpg"  # an unseen pair from ../shared, for the end-to-end judge
RESERVOIR = IMAGES / "style" / "the_resevoir_at_poitiers.jpg"
PHOTO = PHOTOS[0]  # shipped in the package: plumbing tests run on any clone
MATISSE = PAINTING


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stderr


# --- math -------------------------------------------------------------------------------------

def test_adain_gives_the_style_statistics() -> None:
    g = torch.Generator().manual_seed(0)
    content = torch.rand(2, 5, 7, 9, generator=g) * 3 + 1
    s_mean, s_std = torch.randn(2, 5, 1, 1, generator=g), torch.rand(2, 5, 1, 1, generator=g) + 0.5
    out = ops.adain(content, s_mean, s_std)
    mean, std = ops.mean_std(out)
    assert torch.allclose(mean, s_mean, atol=1e-5) and torch.allclose(std, s_std, atol=1e-3)
    # the normalised pattern is the content's: correlation with the content is 1 per channel
    centred = (out - mean) / std
    expect = (content - content.mean((2, 3), keepdim=True)) / content.std((2, 3), unbiased=False, keepdim=True)
    assert torch.allclose(centred, expect, atol=1e-3)


def test_masked_affines_give_each_region_its_style() -> None:
    g = torch.Generator().manual_seed(1)
    content = torch.rand(1, 4, 8, 8, generator=g)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :, :3] = 1
    inside = (torch.full((1, 4, 1, 1), 5.0), torch.full((1, 4, 1, 1), 2.0))
    outside = (torch.full((1, 4, 1, 1), -1.0), torch.full((1, 4, 1, 1), 0.5))
    out = sum(region * (content * scale + shift)
              for region, (scale, shift) in ops.masked_affines(content, mask, inside, outside))
    left, right = out[..., :3].reshape(4, -1), out[..., 3:].reshape(4, -1)
    assert torch.allclose(left.mean(1), torch.full((4,), 5.0), atol=1e-4)
    assert torch.allclose(left.std(1, unbiased=False), torch.full((4,), 2.0), atol=1e-2)
    assert torch.allclose(right.mean(1), torch.full((4,), -1.0), atol=1e-4)
    assert torch.allclose(right.std(1, unbiased=False), torch.full((4,), 0.5), atol=1e-2)
    small = ops.resize_mask(torch.ones(1, 1, 64, 64).tril(), (8, 8))
    assert set(small.unique().tolist()) <= {0.0, 1.0}


# --- networks ---------------------------------------------------------------------------------

def test_normalised_encoder_is_the_raw_one_divided_by_channel_means() -> None:
    """Rescaling the convs must change the features' scale and nothing else."""
    vgg = load_vgg19()
    image = load_image(PHOTO).rgb[..., :64, :96]
    raw = Encoder(vgg)
    means = channel_means(raw, [image])
    normalised = Encoder(vgg, means)
    a, b = raw(image, STYLE_LAYERS), normalised(image, STYLE_LAYERS)
    for layer in STYLE_LAYERS:
        expect = a[layer] / means[layer].view(1, -1, 1, 1)
        assert torch.allclose(b[layer], expect, rtol=1e-3, atol=1e-3 * float(expect.abs().max()))
        live = means[layer] != 1  # dead channels keep scale 1
        assert torch.allclose(b[layer].mean((0, 2, 3))[live], torch.ones(int(live.sum())), atol=1e-3)


def test_decoder_upsamples_eight_times_and_training_lowers_the_loss() -> None:
    torch.manual_seed(0)
    vgg = load_vgg19()
    encoder, decoder = Encoder(vgg, channel_means(Encoder(vgg), [torch.rand(2, 3, 64, 64)])), Decoder()
    assert decoder(torch.rand(1, 512, 5, 7)).shape == (1, 3, 40, 56)
    content = load_image(PHOTO).rgb[..., 100:164, 100:164].expand(2, -1, -1, -1).contiguous()
    with torch.no_grad():
        feats = encoder(torch.nn.functional.interpolate(load_image(MATISSE).rgb, size=(64, 64)), STYLE_LAYERS)
    style = {k: tuple(t.expand(2, -1, -1, -1) for t in ops.mean_std(v)) for k, v in feats.items()}
    config = TrainDecoderConfig("", "", crop=64)
    opt = torch.optim.Adam(decoder.parameters(), lr=1e-3)
    first = None
    for _ in range(25):
        values = losses(encoder, decoder, content, style, config)  # type: ignore[arg-type]
        first = first if first is not None else values["total"].item()
        opt.zero_grad()
        values["total"].backward()
        opt.step()
    assert values["total"].item() < 0.5 * first

    # the identity loss: the decoder redrawing the photo from the photo's own features
    plain = losses(encoder, decoder, content, style, config)  # type: ignore[arg-type]
    with_identity = losses(encoder, decoder, content, style,  # type: ignore[arg-type]
                           TrainDecoderConfig("", "", crop=64, identity_weight=2.0))
    with torch.no_grad():
        redrawn = decoder(encoder(content, ["relu4_1"])["relu4_1"])
    assert torch.allclose(with_identity["identity"], torch.nn.functional.mse_loss(redrawn, content), rtol=1e-4)
    assert torch.allclose(with_identity["total"], plain["total"] + 2.0 * with_identity["identity"], rtol=1e-5)
    assert "identity" not in plain

    # the same redrawing judged in VGG features, each layer relative to the photo's feature energy
    with_features = losses(encoder, decoder, content, style,  # type: ignore[arg-type]
                           TrainDecoderConfig("", "", crop=64, feature_identity_weight=3.0))
    with torch.no_grad():
        photo, again = encoder(content, STYLE_LAYERS), encoder(redrawn, STYLE_LAYERS)
    relative = sum(((again[k] - photo[k]) ** 2).mean() / (photo[k] ** 2).mean() for k in STYLE_LAYERS)
    assert relative > 0.01  # a half-trained decoder does not redraw exactly: the check below can fail
    assert torch.allclose(with_features["identity_features"], relative, rtol=1e-4)
    assert torch.allclose(with_features["total"], plain["total"] + 3.0 * relative, rtol=1e-5)
    assert "identity" not in with_features

    # the hatching penalty: periodicity of the output where the photo is flat, as `stylize eval` measures it
    with_hatching = losses(encoder, decoder, content, style,  # type: ignore[arg-type]
                           TrainDecoderConfig("", "", crop=64, hatching_weight=5.0))
    with torch.no_grad():
        drawn = decoder(ops.adain(encoder(content, ["relu4_1"])["relu4_1"], *style["relu4_1"]))
        picks = ops.flattest(ops.patches(content))
    expected = 255 * torch.cat([ops.periodicity(ops.patches(drawn[i:i + 1])[:, picks[i]]) for i in range(2)]).mean()
    assert torch.allclose(with_hatching["hatching"], expected, rtol=1e-3)
    assert torch.allclose(with_hatching["total"], plain["total"] + 5.0 * expected, rtol=1e-4)
    with_hatching["total"].backward()  # differentiable through the spectrum
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in decoder.parameters())


# --- train-decoder ----------------------------------------------------------------------------

def test_train_decoder_checkpoints_logs_and_resumes(tmp_path: Path, data: tuple[Path, Path]) -> None:
    content, style = data
    out = tmp_path / "run" / "dec.pt"
    out.parent.mkdir()
    common = ["train-decoder", "--data-content", content, "--data-style", style, "-o", out,
              "--crop", "64", "--style-size", "64", "--batch", "2", "--device", "cpu", "--normalise", "-q"]
    code, err = invoke(*common, "--steps", "3", "--save-every", "2", "--keep-every", "2")
    assert code == 0, err
    assert "1 unreadable image(s) skipped, 3 used" in err
    first = torch.load(out, weights_only=True)
    assert first["steps"] == 3 and len(first["phases"]) == 1 and first["phases"][0]["to_step"] == 3
    # --keep-every kept step 2's decoder beside the latest (step 3's, saved at the end, not a multiple)
    assert sorted(p.name for p in out.parent.glob("*.decoder.pt")) == ["dec.2.decoder.pt", "dec.decoder.pt"]
    assert torch.load(decoder_path(out, 2), weights_only=True)["steps"] == 2

    code, err = invoke(*common, "--steps", "3")  # the same -o again without --resume: refused
    assert code == 1 and "--resume" in err
    code, err = invoke(*common, "--steps", "5", "--resume", out)
    assert code == 0, err
    assert "resuming at step 3" in err and "2 paintings (2 with statistics cached in" in err
    cache = torch.load(out.with_name("dec.paintings.pt"), weights_only=True)
    mean, _ = next(iter(cache["stats"].values()))["relu4_1"]
    assert mean.shape == (1, 512, 1, 1) and mean.untyped_storage().nbytes() == 512 * 4  # not the whole batch
    state = torch.load(out, weights_only=True)
    assert state["steps"] == 5 and [(p["from_step"], p["to_step"]) for p in state["phases"]] == [(0, 3), (3, 5)]
    assert torch.equal(state["channel_means"]["relu4_1"], first["channel_means"]["relu4_1"])
    assert state["optimizer"]["state"][0]["step"].item() == 5  # Adam's moments carried over, not reset
    assert not any(torch.equal(state["decoder"][k], first["decoder"][k]) for k in first["decoder"])

    # the decoder file beside it is what `run --decoder` uses
    shipped = torch.load(decoder_path(out), weights_only=True)
    assert shipped["steps"] == 5 and all(v.dtype == torch.float16 for v in shipped["decoder"].values())
    code, err = invoke("run", PHOTO, "--style", MATISSE, "--method", "adain", "--decoder", decoder_path(out),
                       "--size", "64", "-o", tmp_path / "o.png", "-q")
    assert code == 0, err
    w, h = load_image(PHOTO).size
    assert load_image(tmp_path / "o.png").size == (64, round(64 * h / w))
    rows = [line.split("\t") for line in log_path(out).read_text().splitlines()]
    assert rows[0][:3] == ["step", "content", "style"] and [r[0] for r in rows[1:]] == ["3", "5"]

    code, err = invoke(*common, "--steps", "6", "--resume", out, "--identity-weight", "100",
                       "--feature-identity-weight", "10")
    assert code == 0, err
    state = torch.load(out, weights_only=True)
    assert [(p["settings"]["identity_weight"], p["settings"]["feature_identity_weight"])
            for p in state["phases"]] == \
        [(0.0, 0.0), (0.0, 0.0), (100.0, 10.0)]
    assert 0 < state["history"][-1]["identity"] < 1  # pixel MSE of [0, 1] images
    assert 0 < state["history"][-1]["identity_features"] < 100  # relative errors: O(1) per layer, not raw VGG
    rows = [line.split("\t") for line in log_path(out).read_text().splitlines()]
    assert rows[3][:5] == ["step", "content", "style", "identity", "identity_features"] and rows[4][0] == "6"


def test_sigterm_saves_the_checkpoint_and_exits_130(tmp_path: Path, data: tuple[Path, Path]) -> None:
    """What a cluster's time limit or `kill` sends; SIGINT is ignored in scripts' background jobs."""
    content, style = data
    out = tmp_path / "dec.pt"
    cmd = [sys.executable, "-m", "stylize_cli", "train-decoder", "--data-content", str(content),
           "--data-style", str(style), "-o", str(out), "--crop", "64", "--style-size", "64", "--batch", "2",
           "--device", "cpu", "--save-every", "1", "--steps", "100000", "-q"]
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not out.exists():
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"continue with: --resume {out}" in err and "Traceback" not in err
    assert 1 <= torch.load(out, weights_only=True)["steps"] < 100_000


@pytest.mark.slow
def test_train_decoder_compiled_takes_the_same_steps(tmp_path: Path, data: tuple[Path, Path]) -> None:
    """--compile changes how a step runs, not what it computes: the same losses as an eager run, and a
    checkpoint with the plain decoder's keys (not the compiled wrapper's)."""
    content, style = data
    rows = {}
    for name in ("eager", "compiled"):
        out = tmp_path / name / "dec.pt"
        out.parent.mkdir()
        code, err = invoke("train-decoder", "--data-content", content, "--data-style", style, "-o", out,
                           "--crop", "64", "--style-size", "64", "--batch", "2", "--device", "cpu",
                           "--precision", "fp32", "--steps", "2", "-q", *(["--compile"] if name == "compiled" else []))
        assert code == 0, err
        rows[name] = log_path(out).read_text().splitlines()[1].split("\t")[1:3]  # step 2's mean content, style
        assert not any("_orig_mod" in k for k in torch.load(out, weights_only=True)["decoder"])
    assert [float(v) for v in rows["compiled"]] == pytest.approx([float(v) for v in rows["eager"]], rel=1e-3)


def test_average_of_one_runs_decoders(tmp_path: Path) -> None:
    """scripts/average_decoders.py: the mean weights, written as a decoder file `run --decoder` takes."""
    torch.manual_seed(0)
    means: dict[str, torch.Tensor] = {}  # the raw VGG, as the shipped decoder
    runs = [DecoderCheckpoint(Decoder().state_dict(), means, Record(steps=n)) for n in (300, 100, 200)]
    for run in runs:
        run.save_decoder(tmp_path / f"d.{run.record.steps}.decoder.pt")
    files = [str(tmp_path / f"d.{n}.decoder.pt") for n in (100, 200, 300)]
    done = subprocess.run([sys.executable, "scripts/average_decoders.py", str(tmp_path / "avg.pt"), *files],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, check=False)
    assert done.returncode == 0, done.stderr
    mean = DecoderCheckpoint.load(tmp_path / "avg.pt")
    loaded = [DecoderCheckpoint.load(f) for f in files]
    for k, v in mean.decoder.items():  # fp16 files: the mean of the stored weights, stored in fp16
        assert torch.equal(v, torch.stack([c.decoder[k] for c in loaded]).mean(dim=0).half().float())
    first = next(iter(mean.decoder))
    assert not any(torch.equal(mean.decoder[first], c.decoder[first]) for c in loaded)  # not one of them
    assert mean.record.steps == 300 and mean.record.config["averaged_steps"] == [100, 200, 300]
    assert mean.channel_means == {}
    Stylizer(str(MATISSE), method="adain", decoder=str(tmp_path / "avg.pt"), size=64)(str(PHOTO))

    other = DecoderCheckpoint(Decoder().state_dict(), {"relu4_1": torch.rand(512)}, Record(steps=400), source="x.pt")
    with pytest.raises(InputError, match=r"x\.pt: another encoder normalisation"):
        average([*runs, other])
    with pytest.raises(InputError, match="no decoders"):
        average([])
    sanet = DecoderCheckpoint.load(data_path("sanet.pt"))
    twice = average([sanet, sanet])  # sanet's attention transform is averaged with its decoder
    assert twice.arch == "sanet" and all(torch.equal(twice.parts[n][k], sanet.parts[n][k])
                                         for n in sanet.parts for k in sanet.parts[n])


def test_train_decoder_bad_inputs(tmp_path: Path, data: tuple[Path, Path]) -> None:
    content, style = data
    code, err = invoke("train-decoder", "--data-content", tmp_path / "nope", "--data-style", style,
                       "-o", tmp_path / "d.pt", "--crop", "64")
    assert code == 1 and "nope: no such folder" in err and "Traceback" not in err
    code, err = invoke("train-decoder", "--data-content", content, "--data-style", style, "-o", tmp_path / "d.pt",
                       "--save-every", "2", "--keep-every", "3")
    assert code == 2 and "keep-every" in err and "multiple" in err and "Traceback" not in err
    assert not (tmp_path / "d.pt").exists()
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    code, err = invoke("train-decoder", "--data-content", content, "--data-style", style, "-o", tmp_path / "d.pt",
                       "--resume", bogus, "--crop", "64")
    assert code == 1 and "bogus.pt: not a decoder checkpoint" in err and len(err.strip().splitlines()) == 1
    code, err = invoke("run", PHOTO, "--style", MATISSE, "--method", "adain", "--decoder", bogus,
                       "-o", tmp_path / "o.jpg")
    assert code == 1 and "bogus.pt: not a decoder file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.jpg").exists()


# --- the shipped decoder, end to end -------------------------------------------------------------

@pytest.mark.parametrize(("name", "file", "command"), [(DECODER, "data/adain_decoder.pt", "stylize train-decoder"),
                                                      (NETWORK, "data/sanet.pt", "train-decoder --arch sanet")])
def test_shipped_networks_are_bundled_verified_and_carded(name: str, file: str, command: str) -> None:
    entry = weights.get_entry(name)
    assert entry.bundled and entry.package == "stylize_cli"
    assert weights.verify(entry) == {file: "ok"}
    card = weights.local_path(entry, entry.files[0]).with_suffix(".md").read_text()
    assert "steps" in card and command in card


@pytest.mark.slow
@pytest.mark.mirror
def test_cli_stylizes_with_the_shipped_decoder_by_default(tmp_path: Path) -> None:
    """The main command on an unseen pair: adain chosen for a style image, a real stylization, the
    photo still there."""
    out = tmp_path / "out.jpg"
    code, err = invoke("run", need(CHICAGO), "--style", need(RESERVOIR), "--size", "384", "-o", out)
    assert code == 0 and "with adain on" in err, err
    scores = judge(load_vgg19(), load_image(out).rgb, load_image(CHICAGO).rgb, load_image(RESERVOIR).rgb)
    # measured 0.310 and 0.248 with the step-23,577 decoder (0.358 and 0.492 at step 1,000);
    # 0.35 is the bar for the mean style ratio
    assert scores["style_ratio"] < 0.35 and scores["content_ratio"] < 0.35, scores


def test_default_size() -> None:
    """Without --size or --max-size a photo keeps its size (large ones go in tiles)."""
    stylizer = Stylizer(MATISSE, device="cpu")
    assert stylizer.method.name == "adain"
    assert stylizer(load_image_pil(torch.rand(1, 3, 24, 1100))).size == (1100, 24)
    wide = load_image_pil(torch.rand(1, 3, 24, 1100))
    assert Stylizer(MATISSE, device="cpu", max_size=500)(wide).size == (500, 11)  # the user's bound wins
    assert Stylizer(MATISSE, device="cpu", size=1100)(wide).size == (1100, 24)


@pytest.mark.slow
@pytest.mark.mirror
def test_alpha_weights_mask_and_odd_sizes() -> None:
    vgg = load_vgg19()
    photo = load_image(need(CHICAGO)).rgb[..., :203, :251]  # sides not multiples of 8
    style = load_image(RESERVOIR).rgb
    ratios = []
    for alpha in (0.0, 0.5, 1.0):
        out = load_image(Stylizer(RESERVOIR, method="adain", alpha=alpha, device="cpu")(load_image_pil(photo))).rgb
        assert out.shape == photo.shape
        ratios.append(judge(vgg, out, photo, style)["style_ratio"])
    assert ratios[0] > ratios[1] > ratios[2], ratios

    def run(styles: list[Path], **options: object) -> torch.Tensor:
        return load_image(Stylizer(styles, method="adain", device="cpu", **options)(load_image_pil(photo))).rgb

    only_first = run([RESERVOIR, MATISSE], style_weights=[1, 0])
    assert (only_first - run([RESERVOIR])).abs().max() <= 1 / 255
    mixed = run([RESERVOIR, MATISSE], style_weights=[1, 1])
    assert (mixed - only_first).abs().mean() > 0.02

    mask = Path(need(IMAGES / "mask" / "mask.png"))
    masked = run([RESERVOIR, MATISSE], mask=str(mask))
    region = torch.nn.functional.interpolate(load_image(mask).rgb.mean(1, keepdim=True), size=photo.shape[-2:]) > 0.5
    white, black = region.expand_as(masked), ~region.expand_as(masked)
    only_second = run([MATISSE])
    assert (masked - only_first)[white].abs().mean() < (masked - only_second)[white].abs().mean()
    assert (masked - only_second)[black].abs().mean() < (masked - only_first)[black].abs().mean()
    with pytest.raises(InputError, match="exactly two"):
        run([RESERVOIR], mask=str(mask))


def load_image_pil(rgb: torch.Tensor):  # type: ignore[no-untyped-def]
    from stylize_cli.images import to_pil

    return to_pil(rgb)
