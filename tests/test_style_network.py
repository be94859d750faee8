"""Per-style networks (train-style --network): the folded network, its file, and cin using it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from stylize_cli.errors import InputError, Interrupted, WeightsError
from stylize_cli.images import load_image
from stylize_cli.models.magenta import TransferNet
from stylize_cli.models.style_network import StyleNetwork
from stylize_cli.styles import Style

from .conftest import IMAGES, PHOTOS, WEIGHTS_MIRROR, need, sigterm_at

STYLES = IMAGES / "style"


def random_network(seed: int = 0) -> StyleNetwork:
    torch.manual_seed(seed)
    return StyleNetwork.folded(TransferNet(), torch.randn(1, 100))


def test_folded_network_renders_the_vector_it_was_made_from() -> None:
    transfer, vector = TransferNet().eval(), torch.randn(1, 100)
    network = StyleNetwork.folded(transfer, vector)
    x = torch.rand(1, 3, 70, 90)
    with torch.no_grad():
        assert torch.allclose(network(x), transfer(x, transfer.norm_params(vector)), atol=1e-6)
    trainable = {n for n, p in network.named_parameters() if p.requires_grad}
    assert "gammas.0" in trainable and "net.residual.0.0.conv.weight" in trainable
    assert not any(".norm.scale." in n or ".norm.shift." in n for n in trainable)  # unused once folded


def test_the_fp16_file_round_trips_within_one_level(tmp_path: Path) -> None:
    network = random_network()
    data = network.to_bytes()
    assert len(data) < 300_000  # the vector projections are not saved
    path = tmp_path / "n.net.pt"
    path.write_bytes(data)
    loaded = StyleNetwork.from_state(torch.load(path, weights_only=True), path)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert (loaded(x) - network(x)).abs().max() < 1 / 255
    with pytest.raises(WeightsError, match=r"n\.net\.pt"):
        StyleNetwork.from_state({"format": "something else"}, path)


def test_a_network_style_file_names_its_weights_by_content_and_checks_them(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    style = Style("mine", [0.0] * 100)
    style.save(path, network=random_network(1).to_bytes())
    first = style.weights
    assert style.kind == "network" and first.startswith("mine.") and (tmp_path / first).is_file()
    loaded = Style.load(path)
    assert loaded.sha256 == style.sha256 and isinstance(loaded.network_weights(), StyleNetwork)

    Style("mine", [0.0] * 100).save(path, network=random_network(2).to_bytes())  # replaced
    second = Style.load(path)
    assert second.weights != first and not (tmp_path / first).exists()  # the old weights are gone

    raw = bytearray((tmp_path / second.weights).read_bytes())
    raw[-20] ^= 0xFF
    (tmp_path / second.weights).write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        second.network_weights()

    data = json.loads(path.read_text())
    for trick in ("../../etc/passwd.net.pt", "/tmp/x.net.pt", "mine.json", ".hidden.net.pt"):
        path.write_text(json.dumps({**data, "weights": trick}))
        with pytest.raises(InputError, match="weights"):
            Style.load(path)


@pytest.mark.mirror
def test_cin_runs_a_network_style_alone_and_its_vector_when_mixed(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from stylize_cli.methods.cin import Cin, CinConfig
    from stylize_cli.models.magenta import load_transfer

    monkeypatch.setenv("STYLIZE_MIRROR", str(need(WEIGHTS_MIRROR)))
    vector = torch.randn(1, 100)
    network = StyleNetwork.folded(load_transfer(), vector)
    with torch.no_grad():
        for p in network.gammas:
            p.mul_(-1)  # a network that differs from its vector
    style = Style("net", vector.view(-1).tolist())
    style.save(tmp_path / "net.json", network=network.to_bytes())
    style = Style.load(tmp_path / "net.json")
    photo = load_image(PHOTOS[0]).rgb
    device = torch.device("cpu")
    cin = Cin(CinConfig(size=128), device)
    as_network = cin.apply(photo, prepared := cin.prepare([style], [1.0]))
    assert prepared.network is not None
    as_vector = cin.apply(photo, cin.prepare([Style("v", style.vector)], [1.0]))
    with torch.no_grad():
        expected = network(torch.nn.functional.interpolate(photo, size=as_network.shape[-2:], mode="bilinear",
                                                           antialias=True))
    assert (as_network - as_vector).abs().mean() > 0.05
    assert (as_network - expected).abs().mean() < 0.02  # fp16 weights, resizing aside
    mixed = cin.prepare([style, Style("v", style.vector)], [1.0, 1.0])
    weak = Cin(CinConfig(size=128, alpha=0.5), device).prepare([style], [1.0])
    assert mixed.network is None and weak.network is None
    tiled = Cin(CinConfig(size=128, tile=64), device).apply(photo, prepared)  # tiles run the network too
    assert (tiled - as_network).abs().mean() < 0.5 * (as_vector - as_network).abs().mean()


@pytest.mark.mirror
@pytest.mark.slow
def test_train_style_network_lowers_its_loss_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stylize_cli.methods.cin import Cin, CinConfig
    from stylize_cli.train.data import Photos
    from stylize_cli.train.style import Objective, TrainStyleConfig, objective, train_style

    monkeypatch.setenv("STYLIZE_MIRROR", str(need(WEIGHTS_MIRROR)))
    style = load_image(need(STYLES / "la_muse.jpg")).rgb
    config = TrainStyleConfig(steps=12, size=96, scale=128, checkpoint_every=6, network=True,
                              learning_rate=1e-3, network_learning_rate=1e-3)
    photos = Photos([IMAGES / "content" / "flowers.jpg", IMAGES / "content" / "sailboat.jpg"], config.size, print,
                    longer=config.scale)
    device = torch.device("cpu")
    cin = Cin(CinConfig(), device)
    parts = Objective.build(cin, style, config, device)
    rng = random.Random(7)
    crops = [photos.batch(1, rng) for _ in range(4)]

    def loss(render: torch.nn.Module) -> float:
        with torch.no_grad():
            return sum(float(objective(parts, render, c, config)["total"]) for c in crops)

    before = loss(StyleNetwork.folded(cin.transfer, cin.predict(style)))
    result = train_style(style, photos, config, device, tmp_path / "ck.pt", cin=cin)
    assert result.network is not None and loss(result.network) < before
    assert torch.equal(result.vector, cin.predict(style).view(-1))  # the vector it started from

    stopped = tmp_path / "stopped.pt"
    with pytest.raises(Interrupted):
        train_style(style, photos, config, device, stopped, progress=sigterm_at(3), cin=cin)
    seen: list[int] = []
    resumed = train_style(style, photos, config, device, stopped, progress=lambda e: seen.append(e.step), cin=cin)
    assert seen[0] == 4 and resumed.record.steps == 12 and [p.from_step for p in resumed.record.phases] == [0, 3]
