"""SANet: attention chunked and tiled exactly, IEST's losses, train-decoder --arch sanet, the shipped network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from stylize_cli import Stylizer
from stylize_cli.cli import cli
from stylize_cli.images import load_image, to_pil
from stylize_cli.losses import judge
from stylize_cli.models.adain import Decoder, Encoder
from stylize_cli.models.sanet import DEEP_LAYER, SANet, Transform
from stylize_cli.models.vgg import load_vgg19
from stylize_cli.temporal import ShotStatistics
from stylize_cli.train.decoder import decoder_path, log_path
from stylize_cli.train.decoder_state import TrainDecoderConfig
from stylize_cli.train.sanet import Discriminator, Trainee, info_nce

from .conftest import IMAGES, PAINTING, PHOTOS, need

CHICAGO = IMAGES / "content" / "chicago.jpg"
RESERVOIR = IMAGES / "style" / "the_resevoir_at_poitiers.jpg"


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def random_sanet() -> SANet:
    """Our VGG-19 with a random transform and decoder (attention switched on: out convs not zero)."""
    torch.manual_seed(0)
    transform = Transform()
    for attention in (transform.attend4, transform.attend5):
        torch.nn.init.normal_(attention.out.weight, std=0.02)
    return SANet(Encoder(load_vgg19("cpu"), last=DEEP_LAYER), transform, Decoder()).eval().requires_grad_(False)


def test_untrained_transform_passes_the_photo_through() -> None:
    """Zero output convolutions and an identity merge: what lets training start from adain's decoder."""
    c4, c5 = torch.rand(2, 512, 8, 6), torch.rand(2, 512, 4, 3)
    s4, s5 = torch.rand(2, 512, 5, 5), torch.rand(2, 512, 3, 3)
    expect = c4 + F.interpolate(c5, size=(8, 6), mode="nearest")
    assert torch.allclose(Transform()(c4, c5, s4, s5), expect, atol=1e-5)


def test_chunks_and_tiles_give_the_one_pass_result(random_sanet: SANet) -> None:
    photo, painting = torch.rand(1, 3, 160, 224), torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        keys = random_sanet.style_keys(painting)
        whole = random_sanet.stylize(photo, [keys], [1.0], chunk=None)
        chunked = random_sanet.stylize(photo, [keys], [1.0], chunk=300)  # 1 row of scores at a time
        tiled = random_sanet.stylize(photo, [keys], [1.0], tile=64)
    assert whole.shape == photo.shape and whole.std() > 0.01
    assert (chunked - whole).abs().max() < 1e-4 and (tiled - whole).abs().max() < 1e-4


def test_the_attention_chunk_bounds_the_whole_batchs_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound once ignored the batch: a 16-frame batch held 16 times the stated scores."""
    import stylize_cli.models.sanet as sanet

    sizes: list[int] = []
    weights = sanet._weights
    monkeypatch.setattr(sanet, "_weights", lambda scores: sizes.append(scores.numel()) or weights(scores))
    attention, content, style = sanet.Attention(16), torch.rand(8, 16, 6, 5), torch.rand(1, 16, 4, 4)
    keys = attention.keys(style)
    chunked = attention(content, keys, chunk=8 * 16 * 3)  # three rows of scores for each of the 8 pictures
    assert max(sizes) <= 8 * 16 * 3 and len(sizes) == 10  # 30 positions, 3 rows at a time
    torch.testing.assert_close(chunked, attention(content, keys, chunk=None))


def test_style_weights_and_alpha_mix_attention_results(random_sanet: SANet) -> None:
    photo = torch.rand(1, 3, 64, 96)
    a, b = (random_sanet.style_keys(torch.rand(1, 3, 64, 64)) for _ in range(2))
    own = random_sanet.style_keys(photo)
    with torch.no_grad():
        only_a = random_sanet.stylize(photo, [a, b], [1.0, 0.0])
        assert torch.allclose(only_a, random_sanet.stylize(photo, [a], [1.0]), atol=1e-5)
        half = random_sanet.stylize(photo, [a], [1.0], alpha=0.5, own=own)
        none = random_sanet.stylize(photo, [a], [1.0], alpha=0.0, own=own)
    assert torch.allclose(none, random_sanet.stylize(photo, [own], [1.0]), atol=1e-5)
    assert (half - only_a).abs().mean() > 1e-4 and (half - none).abs().mean() > 1e-4


def test_video_shot_statistics_reach_the_attention(random_sanet: SANet) -> None:
    """In video, frames are normalised with the shot's running statistics: the first frame's own,
    then a blend (temporal.py), so the second frame differs from its one-picture result."""
    frames, keys = torch.rand(2, 3, 64, 64), random_sanet.style_keys(torch.rand(1, 3, 64, 64))
    with torch.no_grad():
        alone = random_sanet.stylize(frames, [keys], [1.0])
        shot = random_sanet.stylize(frames, [keys], [1.0], shot=ShotStatistics())
    assert torch.allclose(shot[0], alone[0], atol=1e-5) and (shot[1] - alone[1]).abs().mean() > 1e-4


def test_contrastive_loss_rewards_the_positive_pairs() -> None:
    """Rows sharing a style (i and i+n) embedded alike score far lower than the same rows shuffled."""
    n = 4
    base = F.normalize(torch.randn(n, 16), dim=1)
    z = torch.cat([base, base + 0.01 * torch.randn(n, 16)])
    positive = torch.cat([torch.arange(n) + n, torch.arange(n)])
    assert info_nce(z, positive) < 0.1 * info_nce(z, positive.roll(1))


def test_discriminator_scores_three_scales_and_learns() -> None:
    torch.manual_seed(0)
    critic, fake, real = Discriminator(), torch.rand(2, 3, 64, 64) * 0.2, torch.rand(2, 3, 64, 64)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    first = (critic.loss(real, 1.0) + critic.loss(fake, 0.0)).item()
    for _ in range(15):
        loss = critic.loss(real, 1.0) + critic.loss(fake, 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


def test_train_decoder_sanet_with_iest_losses_resumes(tmp_path: Path, data: tuple[Path, Path]) -> None:
    content, style = data
    out = tmp_path / "sanet.pt"
    common = ["train-decoder", "--arch", "sanet", "--data-content", content, "--data-style", style, "-o", out,
              "--crop", "64", "--style-size", "96", "--batch", "4", "--device", "cpu", "-q"]
    code, err = invoke(*common, "--steps", "2", "--contrastive", "--external")
    assert code == 0, err
    assert "decoder starts from the shipped adain decoder" in err
    state = torch.load(out, weights_only=True)
    assert state["arch"] == "sanet" and set(state["parts"]) == {"transform", "heads", "loss_scale", "discriminator"}
    assert state["phases"][0]["settings"]["contrastive_weight"] == 0.3
    assert state["phases"][0]["settings"]["external_weight"] == 5.0
    header = log_path(out).read_text().splitlines()[0].split("\t")
    assert {"content", "style", "identity", "identity_features", "contrastive_style", "contrastive_content",
            "external", "critic"} <= set(header)

    code, err = invoke(*common, "--steps", "3", "--resume", out, "--contrastive", "--external")
    assert code == 0 and "resuming at step 2" in err, err
    resumed = torch.load(out, weights_only=True)
    assert resumed["optimizer"]["model"]["state"][0]["step"].item() == 3  # Adam carried over
    assert resumed["optimizer"]["discriminator"]["state"][0]["step"].item() == 3

    shipped = torch.load(decoder_path(out), weights_only=True)
    assert shipped["format"] == "stylize-sanet/1" and shipped["steps"] == 3
    assert all(v.dtype == torch.float16 for part in ("decoder", "transform") for v in shipped[part].values())
    code, err = invoke("run", PHOTOS[0], "-s", PAINTING, "-m", "sanet", "--decoder", decoder_path(out),
                       "--size", "80", "--preserve-color", "histogram", "-o", tmp_path / "o.png", "-q")
    assert code == 0, err
    w, h = load_image(PHOTOS[0]).size
    assert load_image(tmp_path / "o.png").size == (80, round(80 * h / w))

    # the decoder file alone (what the package ships) continues too, its optimisers restarted
    again = tmp_path / "again.pt"
    code, err = invoke(*[str(a) if a != out else again for a in common], "--steps", "4", "--resume",
                       decoder_path(out))
    assert code == 0 and "resuming at step 3" in err, err
    assert torch.load(again, weights_only=True)["optimizer"]["model"]["state"][0]["step"].item() == 1

    # an adain checkpoint is not a sanet one, and the other way round: one line each
    code, err = invoke("train-decoder", "--data-content", content, "--data-style", style, "-o", out,
                       "--resume", out, "--crop", "64", "--batch", "2", "-q")
    assert code == 1 and "a sanet checkpoint; continue it with arch sanet" in err
    code, err = invoke("run", PHOTOS[0], "-s", PAINTING, "-m", "adain", "--decoder", decoder_path(out),
                       "-o", tmp_path / "a.png")
    assert code == 1 and "not a usable AdaIN decoder" in err and len(err.strip().splitlines()) == 1


def test_the_trainee_moves_whole_to_a_device() -> None:
    """The loss scale was a dict of CPU tensors that `.to(device)` left behind: every CUDA step failed."""
    channels = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512, "relu5_1": 512}
    config = TrainDecoderConfig("photos", "paintings", arch="sanet", batch=4)
    trainee = Trainee(Encoder(load_vgg19(), last=DEEP_LAYER), {k: torch.rand(c) + 1 for k, c in channels.items()},
                      config).to("meta")
    tensors = [*trainee.parameters(), *trainee.buffers()]
    assert tensors and all(t.device.type == "meta" for t in tensors)
    assert trainee.scale["relu4_1"].shape == (1, 512, 1, 1) and trainee.scale["relu4_1"].device.type == "meta"


@pytest.mark.gpu
def test_train_decoder_sanet_steps_on_a_gpu(tmp_path: Path, data: tuple[Path, Path]) -> None:
    content, style = data
    code, err = invoke("train-decoder", "--arch", "sanet", "--data-content", content, "--data-style", style,
                       "-o", tmp_path / "s.pt", "--crop", "64", "--style-size", "96", "--batch", "4",
                       "--steps", "1", "--device", "cuda", "-q", "--contrastive", "--external")
    assert code == 0, err


def test_sanet_options_are_refused_where_they_do_not_belong(tmp_path: Path, data: tuple[Path, Path]) -> None:
    content, style = data
    code, err = invoke("train-decoder", "--data-content", content, "--data-style", style, "-o", tmp_path / "d.pt",
                       "--contrastive")
    assert code == 2 and "--contrastive is one of sanet's losses: train arch sanet" in err
    code, err = invoke("train-decoder", "--arch", "sanet", "--data-content", content, "--data-style", style,
                       "-o", tmp_path / "d.pt", "--batch", "3")
    assert code == 2 and "--batch must be even" in err
    code, err = invoke("run", PHOTOS[0], "-s", "starry-night", "-m", "sanet", "-o", tmp_path / "o.png")
    assert code == 1 and "sanet takes style images" in err
    code, err = invoke("run", PHOTOS[0], "-s", PAINTING, "-m", "sanet", "--mask", PAINTING, "-o", tmp_path / "o.png")
    assert code == 2 and "--mask is not an option of sanet (it is adain's" in err


# --- the shipped network, end to end -----------------------------------------------------------

@pytest.mark.slow
@pytest.mark.mirror
def test_shipped_sanet_stylizes_an_unseen_pair(tmp_path: Path) -> None:
    out = tmp_path / "out.jpg"
    code, err = invoke("run", need(CHICAGO), "-m", "sanet", "-s", need(RESERVOIR), "--size", "384", "-o", out)
    assert code == 0 and "with sanet on" in err, err
    vgg = load_vgg19()
    photo, style = load_image(CHICAGO).rgb, load_image(RESERVOIR).rgb
    scores = judge(vgg, load_image(out).rgb, photo, style)
    own = Stylizer(RESERVOIR, method="sanet", alpha=0.0, size=384, device="cpu")(to_pil(photo))
    control = judge(vgg, load_image(own).rgb, photo, style)
    # the painting's statistics arrive and the photo stays; alpha 0 (the photo attending to itself) is
    # the control: measured style 0.607 against 1.015, content 0.453, with the step-572 network
    assert scores["style_ratio"] < 0.8 * control["style_ratio"], (scores, control)
    assert scores["content_ratio"] < 0.6, scores

