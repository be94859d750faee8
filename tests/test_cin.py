"""CIN: the converted Magenta networks against the TFLite runtime's own outputs, then real use."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylize_cli import Stylizer, stylize, weights
from stylize_cli.convert.tflite import read_constants
from stylize_cli.errors import InputError, Interrupted, WeightsError
from stylize_cli.images import fit, load_image
from stylize_cli.losses import judge
from stylize_cli.models.cache import clear
from stylize_cli.models.magenta import PREDICTOR, TRANSFER, StylePredictor, TransferNet, load_predictor, load_transfer
from stylize_cli.models.vgg import load_vgg19
from stylize_cli.styles import Style

from .conftest import IMAGES, WEIGHTS_MIRROR, need, sigterm_at

PREDICT_REF = WEIGHTS_MIRROR / PREDICTOR / "reference"
TRANSFER_REF = WEIGHTS_MIRROR / TRANSFER / "reference"
CONTENT = IMAGES / "content"
STYLES = IMAGES / "style"


pytestmark = pytest.mark.mirror  # Magenta's weights come from the mirror


@pytest.fixture(autouse=True)
def _mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fetch the real files through the real fetch code, from the shared mirror folder."""
    need(WEIGHTS_MIRROR / PREDICTOR)
    monkeypatch.setenv("STYLIZE_MIRROR", str(WEIGHTS_MIRROR))
    clear()  # each test fetches and checks the weights itself, into its own cache folder


def png(path: Path) -> torch.Tensor:
    with Image.open(path) as im:
        return torch.from_numpy(np.asarray(im.convert("RGB"), np.float32) / 255).permute(2, 0, 1)[None]


def test_tiny_random_networks_run_at_any_size() -> None:
    torch.manual_seed(0)
    net, predictor = TransferNet().eval(), StylePredictor().eval()
    with torch.no_grad():
        vector = predictor(torch.rand(1, 3, 64, 64))
        assert vector.shape == (1, 100)
        for h, w in [(101, 77), (64, 64), (33, 50)]:
            out = net(torch.rand(1, 3, h, w), net.norm_params(vector))
            assert out.shape == (1, 3, h, w) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_predictor_matches_the_tflite_runtime_on_every_reference() -> None:
    predictor = load_predictor()
    pictures = sorted((PREDICT_REF / "inputs").glob("*.png"))
    assert len(pictures) == 19
    for picture in pictures:
        reference = torch.from_numpy(np.load(PREDICT_REF / "outputs" / f"{picture.stem}.npy")).view(1, 100)
        with torch.no_grad():
            ours = predictor(png(picture))
        assert float(torch.cosine_similarity(ours, reference)) >= 0.999, picture.name


def test_transfer_net_matches_the_tflite_runtime_on_every_reference() -> None:
    net = load_transfer()
    pairs = sorted((TRANSFER_REF / "outputs").glob("*.npy"))
    assert len(pairs) == 3
    for pair in pairs:
        content, style = pair.stem.split("__")
        vector = torch.from_numpy(np.load(PREDICT_REF / "outputs" / f"{style}.npy")).view(1, 100)
        reference = torch.from_numpy(np.load(pair).astype(np.float32)).permute(0, 3, 1, 2)
        with torch.no_grad():
            ours = net(png(TRANSFER_REF / "inputs" / f"{content}.png"), net.norm_params(vector))
        diff = (ours - reference).abs()
        assert float(diff.mean()) <= 1e-3 and float(diff.max()) <= 2e-2, pair.name


def test_conversion_is_cached_and_a_tampered_cache_is_redone() -> None:
    load_transfer()
    entry = weights.get_entry(TRANSFER)
    cached = weights.local_path(entry, entry.files[0]).with_suffix(".tflite.pt")
    assert cached.is_file()
    first = cached.stat().st_mtime_ns
    clear()
    load_transfer()
    assert cached.stat().st_mtime_ns == first  # loaded, not converted again
    cached.write_bytes(cached.read_bytes()[:-10] + b"tampered!!")
    clear()
    net = load_transfer()  # the checksum stamp catches it and the file is converted afresh
    assert weights.sha256_of(cached) == (cached.parent / (cached.name + ".sha256")).read_text()
    assert isinstance(net, TransferNet)


def test_malformed_tflite_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsError, match=r"bad\.tflite: not a TensorFlow Lite file"):
        read_constants(bad)
    real = (WEIGHTS_MIRROR / TRANSFER / "style_transfer_f16_384.tflite").read_bytes()
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(real[:5000])
    with pytest.raises(WeightsError, match=r"cut\.tflite: malformed TensorFlow Lite file"):
        read_constants(cut)


def test_tampered_download_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror" / TRANSFER
    mirror.mkdir(parents=True)
    data = bytearray((WEIGHTS_MIRROR / TRANSFER / "style_transfer_f16_384.tflite").read_bytes())
    data[20000] ^= 0x55
    (mirror / "style_transfer_f16_384.tflite").write_bytes(bytes(data))
    monkeypatch.setenv("STYLIZE_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("STYLIZE_OFFLINE", "1")
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_transfer()


@pytest.mark.slow
def test_predicted_style_cuts_the_judges_ratio() -> None:
    """Unseen photo x painting pairs at 512 px: real stylization, content kept."""
    vgg = load_vgg19()
    for photo, painting in [("golden_gate.jpg", "the_resevoir_at_poitiers.jpg"), ("cornell.jpg", "scene_de_rue.jpg")]:
        out = load_image(stylize(CONTENT / photo, STYLES / painting, method="cin", size=512)).rgb
        scores = judge(vgg, out, load_image(CONTENT / photo).rgb, load_image(STYLES / painting).rgb)
        assert scores["style_ratio"] < 0.6 and scores["content_ratio"] < 1.0, (photo, scores)


def test_styles_mix_as_a_convex_combination() -> None:
    a, b = Style("a", [1.0] * 100), Style("b", [-1.0] * 50 + [3.0] * 50)
    stylizer = Stylizer([a, b], method="cin", style_weights=[3, 1], device="cpu")
    mixed = stylizer.prepare(torch.rand(1, 3, 32, 32)).vector
    expected = 0.75 * a.tensor() + 0.25 * b.tensor()
    torch.testing.assert_close(mixed, expected)


def test_alpha_moves_towards_the_photos_own_vector() -> None:
    photo = fit(load_image(CONTENT / "chicago.jpg").rgb, 256)
    style = STYLES / "la_muse.jpg"
    vgg = load_vgg19()
    ratios = []
    for alpha in (0.0, 0.5, 1.0):
        out = load_image(stylize(photo_pil(photo), style, method="cin", alpha=alpha)).rgb
        ratios.append(judge(vgg, out, photo, load_image(style).rgb)["style_ratio"])
    assert ratios[0] > ratios[1] > ratios[2]


def test_full_strength_per_picture_is_the_style_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's strengths all 1 (StyleAugment, --alpha-range 1 1) run the style as given: a network
    style keeps its network and the photo's own vector is not predicted."""
    stylizer = Stylizer("starry-night", method="cin", size=128, device="cpu")
    photos = torch.cat([fit(load_image(CONTENT / n).rgb, 128)[..., :64, :64] for n in ("chicago.jpg", "avril.jpg")])
    prepared = stylizer.prepare(photos)
    assert prepared.network is not None
    whole = stylizer.method.apply(photos, prepared, alpha=1.0)
    monkeypatch.setattr(stylizer.method, "predict", lambda *a: pytest.fail("predicted at full strength"))
    assert torch.equal(stylizer.method.apply(photos, prepared, alpha=torch.ones(2)), whole)


def photo_pil(rgb: torch.Tensor) -> Image.Image:
    return Image.fromarray((rgb[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))


def test_named_style_and_style_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_DATA", str(tmp_path / "data"))
    vector = load_predictor()(fit(load_image(STYLES / "mondrian_cropped.jpg").rgb, 256)).view(-1).tolist()
    path = Style("mine", vector, source="mondrian_cropped.jpg").save(tmp_path / "data" / "styles" / "mine.json")
    by_name = np.asarray(stylize(CONTENT / "sailboat.jpg", "mine", size=128))  # auto → cin
    by_file = np.asarray(stylize(CONTENT / "sailboat.jpg", path, size=128))
    assert np.array_equal(by_name, by_file)
    with pytest.raises(InputError, match="mien: no such file or named style; did you mean 'mine'"):
        stylize(CONTENT / "sailboat.jpg", "mien")
    with pytest.raises(InputError, match="is a CIN style vector, not an image"):
        stylize(CONTENT / "sailboat.jpg", "mine", method="gatys")
    with pytest.raises(InputError, match="histogram"):
        stylize(CONTENT / "sailboat.jpg", "mine", preserve_color="histogram")


@pytest.mark.parametrize("text,error", [
    ('{"format": "other"}', "not a stylize style file"),
    ('{"format": "stylize-style/1", "vector": [1, 2]}', "must be a list of 100 numbers"),
    ("not json", "not a readable style file"),
])
def test_bad_style_files(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(InputError, match=error):
        Style.load(path)


def test_train_style_lowers_its_loss(tmp_path: Path) -> None:
    """A few steps on two photos lower the objective on fixed held-back crops."""
    from stylize_cli.methods.cin import Cin, CinConfig
    from stylize_cli.train.data import Photos
    from stylize_cli.train.style import Objective, TrainStyleConfig, objective, train_style

    style = load_image(STYLES / "the_resevoir_at_poitiers.jpg").rgb
    config = TrainStyleConfig(steps=16, size=128, scale=160, learning_rate=0.02, checkpoint_every=8)
    photos = Photos([CONTENT / "flowers.jpg", CONTENT / "sailboat.jpg"], config.size, print, longer=config.scale)
    device = torch.device("cpu")
    cin = Cin(CinConfig(), device)
    parts = Objective.build(cin, style, config, device)
    rng = random.Random(7)
    crops = [photos.batch(1, rng) for _ in range(4)]

    def loss(vector: torch.Tensor) -> float:
        with torch.no_grad():
            render = lambda x: parts.transfer(x, parts.transfer.norm_params(vector))  # noqa: E731
            return sum(float(objective(parts, render, c, config)["total"]) for c in crops)

    before = loss(cin.predict(style))
    checkpoint = tmp_path / "ck.pt"
    result = train_style(style, photos, config, device, checkpoint)
    assert len(result.record.history) == 16 and checkpoint.is_file()
    assert loss(result.vector.view(1, 100)) < before

    # SIGTERM (kill, a cluster's time limit) finishes the step, saves it and stops
    stopped = tmp_path / "stopped.pt"
    with pytest.raises(Interrupted):
        train_style(style, photos, config, device, stopped, progress=sigterm_at(3), cin=cin)
    assert torch.load(stopped, weights_only=True)["steps"] == 3


def test_bf16_autocast_stays_close_to_fp32() -> None:
    photo = load_image(CONTENT / "golden_gate.jpg")
    outs = [np.asarray(Stylizer(STYLES / "la_muse.jpg", method="cin", size=256, precision=p, device="cpu")(photo),
                       np.float64) for p in ("fp32", "bf16")]
    mse = float(((outs[0] - outs[1]) ** 2).mean())
    assert 10 * np.log10(255**2 / mse) > 35  # measured 40 dB at 512 px
