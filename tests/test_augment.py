"""StyleAugment: a transform for training loops (cin's random styles, adain's random paintings), and
batches that mix paintings and strengths (stylize_many), which it shares with dataset runs."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylize_cli.api import Stylizer, stylize_many
from stylize_cli.augment import StyleAugment
from stylize_cli.errors import InputError, OptionError
from stylize_cli.images import fit, load_image

from .conftest import PAINTING, PHOTOS, WEIGHTS_MIRROR, need


def photos(n: int = 4, size: int = 96) -> torch.Tensor:
    """Real photos cropped to one shape: a training batch."""
    return torch.cat([fit(load_image(p).rgb, size)[..., : size * 2 // 3, :size] for p in (PHOTOS * n)[:n]])


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLIZE_MIRROR", str(need(WEIGHTS_MIRROR)))


@pytest.fixture
def paintings(tmp_path: Path) -> Path:
    """Matisse and two photos standing in for paintings (the training sets never serve as fixtures)."""
    folder = tmp_path / "paintings"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(PAINTING, folder / "matisse.jpg")
    shutil.copy(PHOTOS[1], folder / "sub" / "astronaut.jpg")
    shutil.copy(PHOTOS[3], folder / "coffee.jpg")
    return folder


@pytest.mark.mirror
def test_keeps_shape_dtype_device_and_takes_pil(mirror: None) -> None:
    augment = StyleAugment(seed=0)
    batch = photos(2)
    for x in (batch, batch[0], batch.double(), batch.to(torch.bfloat16)):
        y = augment(x)
        assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
        assert 0 <= float(y.min()) and float(y.max()) <= 1 and (y.float() - x.float()).abs().mean() > 0.01
    picture = Image.open(PHOTOS[0]).resize((57, 41))
    out = augment(picture)
    assert isinstance(out, Image.Image) and out.size == (57, 41) and out.mode == "RGB"
    see_through = picture.convert("RGBA")
    see_through.putalpha(100)
    out = augment(see_through)
    assert out.mode == "RGBA" and out.size == (57, 41) and out.getpixel((3, 3))[3] == 100


@pytest.mark.mirror
def test_seeded_reproducible_different_per_call_and_within_a_batch(mirror: None) -> None:
    batch = photos(1).expand(4, -1, -1, -1)  # one photo four times: any difference is the draw's
    first, second = StyleAugment(seed=5), StyleAugment(seed=5)
    a, b = first(batch), second(batch)
    assert torch.equal(a, b)  # same seed, same sequence of draws
    assert (first(batch) - a).abs().mean() > 0.02  # the next call draws again
    assert (StyleAugment(seed=6)(batch) - a).abs().mean() > 0.02  # another seed, other draws
    distances = [(a[i] - a[j]).abs().mean() for i in range(4) for j in range(i + 1, 4)]
    assert min(distances) > 0.01  # every sample its own style and strength


@pytest.mark.mirror
def test_strength_sets_how_far_the_picture_moves(mirror: None) -> None:
    batch = photos(4)
    change = {s: float((StyleAugment(strength=s, seed=1)(batch) - batch).abs().mean()) for s in (0.0, 0.5, 1.0)}
    assert change[0.0] < 1e-3  # strength 0: the photo
    assert change[0.0] < change[0.5] < change[1.0] and change[1.0] > 0.1
    ranged = StyleAugment(strength=(0.2, 0.4), seed=1)(batch)
    assert change[0.0] < float((ranged - batch).abs().mean()) < change[1.0]


@pytest.mark.mirror
def test_works_in_dataloader_workers_loading_weights_there(mirror: None) -> None:
    batch = photos(4)

    class Photos(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 8

        def __getitem__(self, i: int) -> torch.Tensor:
            return augment(batch[i % 4])

    augment = StyleAugment(seed=2)
    assert len(pickle.dumps(augment)) < 20_000  # settings only: the networks load in each worker
    clone = pickle.loads(pickle.dumps(augment))
    assert torch.equal(clone(batch), StyleAugment(seed=2)(batch))
    loader = torch.utils.data.DataLoader(Photos(), batch_size=4, num_workers=2,
                                         generator=torch.Generator().manual_seed(0))
    epoch = torch.cat(list(loader))
    assert epoch.shape == (8, 3, 64, 96) and augment._methods == {}  # nothing loaded in this process
    assert (epoch[:4] - epoch[4:]).abs().mean() > 0.02  # the two workers draw differently
    again = torch.cat(list(torch.utils.data.DataLoader(Photos(), batch_size=4, num_workers=2,
                                                       generator=torch.Generator().manual_seed(0))))
    assert torch.equal(epoch, again)  # a seeded loader repeats its epoch


def test_adain_restyles_each_picture_with_a_painting_from_the_folder(paintings: Path) -> None:
    augment = StyleAugment(strength=1.0, method="adain", paintings=paintings, seed=0)
    batch = photos(3, size=64)
    out = augment(batch)
    files = sorted(p for p in paintings.rglob("*.jpg"))
    assert len(augment.paintings) == 3
    cached = list((paintings.parent / "cache" / "prepared" / "adain").glob("*.pt"))
    assert len(cached) == len(augment._prepared) >= 1  # each painting drawn prepared once, kept on disk
    used = set()
    for i in range(3):  # each result is one of the pool's paintings applied at full strength
        candidates = [Stylizer(p, device="cpu")._run(batch[i:i + 1]) for p in files]
        errors = [float((c[0] - out[i]).abs().max()) for c in candidates]
        assert min(errors) < 2 / 255, errors
        used.add(int(np.argmin(errors)))
    assert len(used) > 1 or len(files) == 1


def test_refuses_what_it_cannot_do(paintings: Path, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="strength"):
        StyleAugment(strength=(0.5, 0.2))
    with pytest.raises(OptionError, match="strength"):
        StyleAugment(strength=1.5)
    with pytest.raises(OptionError, match="method"):
        StyleAugment(method="gatys")
    with pytest.raises(OptionError, match="paintings"):
        StyleAugment(method="adain")
    with pytest.raises(OptionError, match="precision"):
        StyleAugment(precision="fp8")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        StyleAugment(method="adain", paintings=tmp_path / "empty")
    augment = StyleAugment(method="adain", paintings=paintings)
    with pytest.raises(InputError, match="float"):
        augment(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(InputError, match=r"\(N,3,H,W\)"):
        augment(torch.zeros(1, 4, 8, 8))


def test_a_batch_mixes_paintings_and_strengths_as_one_by_one() -> None:
    """stylize_many (a dataset run's batches on a GPU) gives each photo its own painting and strength in
    one pass, and the pictures it would get one at a time."""
    matisse = Stylizer(PAINTING, size=64, device="cpu")
    other = Stylizer(PHOTOS[3], size=64, device="cpu")
    images = [load_image(p) for p in (PHOTOS[2], PHOTOS[3], PHOTOS[2])]  # all 400x267
    work = [(matisse, images[0], None), (other, images[1], 0.4), (other, images[2], 0.7)]
    calls: list[int] = []
    original = matisse.method.apply
    matisse.method.apply = lambda x, *a, **k: calls.append(x.shape[0]) or original(x, *a, **k)  # type: ignore[method-assign]
    together = stylize_many(work)
    assert sorted(calls) == [3]  # one pass for all three
    for (stylizer, image, alpha), picture in zip(work, together, strict=True):
        alone = np.asarray(stylizer(image, alpha=alpha), np.int16)
        assert np.abs(np.asarray(picture, np.int16) - alone).max() <= 2
