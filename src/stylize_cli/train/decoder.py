"""train-decoder: train AdaIN's decoder (Huang & Belongie 2017, §6) for our VGG-19.

The recipe is the paper's: the encoder is frozen; AdaIN puts a painting's
relu4_1 statistics on a photo's relu4_1 features (the target t); the decoder
learns to draw t, judged by the encoder itself: content loss ||f(g(t)) - t||²
at relu4_1 plus style loss on channel mean/std at relu1_1..relu4_1, style
weight 10, Adam lr 1e-4 with inverse-time decay, batches of 8 random crops.

What makes a CPU step cheaper without changing that objective:
- the photos are decoded once and kept in memory as uint8 at twice the crop
  size (the paper's 512 px resize for 256 px crops, scaled);
- a painting's statistics depend only on the painting, so each is encoded
  once (whole, shorter side to `style_size`, centre square) and cached, on
  disk too (OUT.paintings.pt), so resuming does not encode them again.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import ops, weights
from ..atomic import atomic_write
from ..devices import autocast
from ..errors import InputError
from ..layers import ADAIN_LAYER, ADAIN_STYLE_LAYERS
from ..methods import ProgressCallback
from ..models.adain import DECODER_FORMAT, Decoder, Encoder, channel_means
from ..models.sanet import SANET_FORMAT
from ..models.vgg import load_vgg19
from .data import Photos, image_files, load_small
from .loop import Record, new_phase, train

ARCHS = ("adain", "sanet")
TRAINING_FORMAT = "stylize-adain-train/1"  #: a resumable checkpoint: fp32 weights and Adam's state
PAINTING_STATS_FORMAT = "stylize-adain-painting-stats/1"
Stats = dict[str, tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class TrainDecoderConfig:
    content_dir: str
    style_dir: str
    steps: int = 160_000  #: the paper's count; training resumes, so stop whenever
    crop: int = 256  #: content crop; photos are resized to twice this (shorter side) first
    style_size: int = 256  #: paintings: shorter side to this, centre square, seen whole
    batch: int = 8
    learning_rate: float = 1e-4
    lr_decay: float = 5e-5  #: lr = learning_rate / (1 + lr_decay * step), as the paper's code
    #: adain, or sanet: style attention (Park & Lee 2019) before the decoder, trained by train/sanet.py
    arch: str = "adain"
    style_weight: float | None = None  #: None: adain 10; sanet 3 (the SANet paper's, on its loss scale)
    content_weight: float = 1.0
    #: Weight of an identity loss ||g(f(c)) - c||² in pixels (Park & Lee 2019, SANet), off in the
    #: paper's recipe. It trains the decoder to invert the encoder, which the relu4_1 content loss
    #: alone leaves loose enough for hatching and streaks in flat areas (see the model card).
    #: None: adain 0, sanet 50 (SANet's)
    identity_weight: float | None = None
    #: Weight of the same redrawing compared in VGG features at relu1_1..relu4_1 (SANet's second
    #: identity loss): pixel MSE is content with a blur, so it leaves fur drawn as hatching; the low
    #: layers tell the decoder which texture belongs there. Each layer's MSE is relative to the
    #: photo's feature energy there, else relu4_1 (activations 250x relu1_1's) drowns the rest.
    #: Costs one more encoder pass, on the redrawn photos.
    feature_identity_weight: float | None = None  #: None: adain 0, sanet 1 (SANet's)
    #: sanet: weight of IEST's two contrastive losses (Chen et al. 2021; 0.3 there), 0 = off
    contrastive_weight: float = 0.0
    #: sanet: weight of IEST's external (adversarial) loss against the whole painting set (5 there), 0 = off
    external_weight: float = 0.0
    #: sanet, fresh runs: start the decoder from the shipped adain decoder (same architecture)
    from_adain: bool = True
    precision: str = "fp32"  #: fp32, or bf16 autocast (GPUs)
    #: Rescale the encoder's channels to mean 1 (see models/adain.py). Off by default: measured
    #: (crop 64, batch 4, 200 steps each, judge at 256 px on bench/adain.py's 8 pairs) the raw
    #: VGG trained better, style ratio 0.885 vs 1.400, content ratio 0.614 vs 0.628.
    normalise: bool = False
    seed: int = 0
    save_every: int = 200  #: steps between checkpoints (also at least every 10 minutes)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise InputError(f"unknown --arch '{self.arch}': choose {' or '.join(ARCHS)}")
        sanet = self.arch == "sanet"
        for name, (adain, attention) in {"style_weight": (10.0, 3.0), "identity_weight": (0.0, 50.0),
                                         "feature_identity_weight": (0.0, 1.0)}.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, attention if sanet else adain)
        if not sanet and (self.contrastive_weight or self.external_weight):
            raise InputError("--contrastive and --external are sanet's losses: add --arch sanet")
        if sanet and (self.batch < 4 or self.batch % 2):
            raise InputError("sanet trains on pairs of half-batches: --batch must be even and at least 4")
        if self.crop < 64 or self.crop % 8 or self.style_size < 64:
            raise InputError("--crop must be a multiple of 8 and at least 64; --style-size at least 64")
        if self.steps < 1 or self.batch < 1:
            raise InputError("--steps and --batch must be at least 1")
        if min(self.identity_weight or 0, self.feature_identity_weight or 0, self.contrastive_weight,
               self.external_weight) < 0:
            raise InputError("--identity-weight and --feature-identity-weight must be at least 0")
        if self.precision not in ("fp32", "bf16"):
            raise InputError(f"unknown precision '{self.precision}': choose fp32 or bf16")


class Paintings:
    """The style images and their encoder statistics, computed the first time each is drawn.

    The statistics persist in a cache file beside the checkpoint, so a resumed
    run does not pay again for the paintings its predecessors encoded (on a CPU
    that is most of the first few hundred steps after every restart).
    """

    def __init__(self, root: str, files: list[Path], size: int, encoder: Encoder, cache: Path | None = None) -> None:
        self.files, self.size, self.cache = files, size, cache
        self.names = [f"{os.path.relpath(f, root)}:{f.stat().st_size}" for f in self.files]  # edited = new
        means = b"".join(encoder.channel_means[k].cpu().numpy().tobytes() for k in sorted(encoder.channel_means))
        self.key = f"{PAINTING_STATS_FORMAT} size={size} encoder={hashlib.sha256(means).hexdigest()[:16]}"
        self.stats: dict[int, Stats] = {}
        if cache is not None and cache.exists():
            stored = weights.load_checkpoint(cache, what="painting statistics cache")
            if isinstance(stored, dict) and stored.get("key") == self.key:
                device = encoder.mean.device
                index = {name: i for i, name in enumerate(self.names)}
                self.stats = {index[name]: {k: (m.to(device), s.to(device)) for k, (m, s) in v.items()}
                              for name, v in stored["stats"].items() if name in index}
        self.saved = len(self.stats)

    def save(self) -> None:
        if self.cache is None or len(self.stats) == self.saved:
            return
        stats = {self.names[i]: {k: (m.cpu().clone(), s.cpu().clone()) for k, (m, s) in v.items()}  # own storage
                 for i, v in self.stats.items()}
        with atomic_write(self.cache) as fh:
            torch.save({"key": self.key, "stats": stats}, fh)
        self.saved = len(self.stats)

    @torch.no_grad()
    def batch(self, n: int, rng: random.Random, encoder: Encoder, device: torch.device) -> Stats:
        picks = [rng.randrange(len(self.files)) for _ in range(n)]
        todo = sorted({i for i in picks if i not in self.stats})
        images = {i: load_small(self.files[i], shorter=self.size, square=True) for i in todo}
        ready = [i for i in todo if images[i] is not None]
        if ready:
            feats = encoder(torch.stack([images[i] for i in ready]).to(device).float() / 255.0, ADAIN_STYLE_LAYERS)
            for j, i in enumerate(ready):
                self.stats[i] = {k: tuple(s[j:j + 1] for s in ops.mean_std(feats[k])) for k in ADAIN_STYLE_LAYERS}
        picks = [i for i in picks if i in self.stats] or list(self.stats)[:1]  # unreadable ones dropped
        if not picks:
            raise InputError("the first style images drawn are all unreadable; check the style folder")
        picks = (picks * n)[:n]
        return {k: (torch.cat([self.stats[i][k][0] for i in picks]),
                    torch.cat([self.stats[i][k][1] for i in picks])) for k in ADAIN_STYLE_LAYERS}


def losses(encoder: Encoder, decoder: Decoder, content: torch.Tensor, style: Stats,
           config: TrainDecoderConfig) -> dict[str, torch.Tensor]:
    n, redraw = len(content), bool(config.identity_weight or config.feature_identity_weight)
    with torch.no_grad():
        photo = encoder(content, ADAIN_STYLE_LAYERS if config.feature_identity_weight else [ADAIN_LAYER])
        features = photo[ADAIN_LAYER]
        target = ops.adain(features, *style[ADAIN_LAYER])
    if redraw:  # one decoder pass for both: AdaIN(f(c), f(c)) = f(c)
        drawn, identity = decoder(torch.cat([target, features])).split(n)
    else:
        drawn = decoder(target)
    if config.feature_identity_weight:  # and one encoder pass
        both = encoder(torch.cat([drawn, identity]), ADAIN_STYLE_LAYERS)
        feats, redrawn = {k: v[:n] for k, v in both.items()}, {k: v[n:] for k, v in both.items()}
    else:
        feats = encoder(drawn, ADAIN_STYLE_LAYERS)
    content_loss = F.mse_loss(feats[ADAIN_LAYER], target)
    style_loss = sum(F.mse_loss(m, style[k][0]) + F.mse_loss(s, style[k][1])
                     for k in ADAIN_STYLE_LAYERS for m, s in [ops.mean_std(feats[k])])
    total = config.content_weight * content_loss + config.style_weight * style_loss
    values = {"content": content_loss, "style": style_loss}
    if config.identity_weight:
        values["identity"] = F.mse_loss(identity, content)
        total = total + config.identity_weight * values["identity"]
    if config.feature_identity_weight:
        values["identity_features"] = sum(ops.relative_error(redrawn[k], photo[k]) for k in ADAIN_STYLE_LAYERS)
        total = total + config.feature_identity_weight * values["identity_features"]
    return {**values, "total": total}  # type: ignore[dict-item]


@dataclass
class DecoderCheckpoint:
    """A decoder with its encoder normalisation and training record (adain's, or sanet's with more).

    Two files hold one: the training checkpoint (`TRAINING_FORMAT`: fp32, with
    the optimisers' state, resumable exactly) and the decoder file (`DECODER_FORMAT`,
    or `SANET_FORMAT` with the attention transform: fp16, what `--decoder` and the
    package take; resuming from it restarts the optimisers). `parts` holds the
    other trained modules by name (sanet: transform, projection heads,
    discriminator) and sanet's loss scale; the transform and the scale also go in the decoder file.
    """

    decoder: dict[str, torch.Tensor]
    channel_means: dict[str, torch.Tensor]
    record: Record
    optimizer: dict[str, Any] | None = None
    arch: str = "adain"
    parts: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike) -> DecoderCheckpoint:
        state = weights.load_checkpoint(path, what="decoder checkpoint")
        formats = (TRAINING_FORMAT, DECODER_FORMAT, SANET_FORMAT)
        if not isinstance(state, dict) or state.get("format") not in formats:
            raise InputError(f"{path}: not a decoder checkpoint (no {' or '.join(map(repr, formats))} format tag)")
        fmt = state["format"]
        parts = ({"transform": state["transform"], "loss_scale": state.get("loss_scale", {})}
                 if fmt == SANET_FORMAT else state.get("parts", {}))
        return cls({k: v.float() for k, v in state["decoder"].items()}, state["channel_means"],
                   Record.from_dict(state), state.get("optimizer") if fmt == TRAINING_FORMAT else None,
                   state.get("arch", "sanet" if fmt == SANET_FORMAT else "adain"),
                   {name: {k: v.float() for k, v in part.items()} for name, part in parts.items()})

    def save_training(self, path: Path) -> None:
        self._write(path, {"format": TRAINING_FORMAT, "arch": self.arch, "decoder": self.decoder,
                           "optimizer": self.optimizer, "parts": self.parts})

    def save_decoder(self, path: Path) -> None:
        def half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v.half() for k, v in state.items()}

        if self.arch == "sanet":
            self._write(path, {"format": SANET_FORMAT, "decoder": half(self.decoder),  # + its loss scale, so
                               "transform": half(self.parts["transform"]),  # the shipped one can be continued
                               "loss_scale": self.parts["loss_scale"]})
        else:
            self._write(path, {"format": DECODER_FORMAT, "decoder": half(self.decoder)})

    def _write(self, path: Path, head: dict[str, Any]) -> None:
        with atomic_write(path) as fh:
            torch.save({**head, "channel_means": {k: v.cpu() for k, v in self.channel_means.items()},
                        **self.record.to_dict()}, fh)


def train_decoder(config: TrainDecoderConfig, device: torch.device, out: Path, *,
                  resume: Path | None = None, command: str = "",
                  progress: ProgressCallback | None = None,
                  log: Callable[[str], None] = lambda _: None) -> int:
    """Train to `config.steps`, writing `out` (resumable) and `out`.decoder.pt (usable by --decoder).

    Returns the step reached. Ctrl-C or SIGTERM finishes the step, saves, then raises Interrupted.
    """
    if config.arch != "adain":
        raise InputError(f"train_decoder trains adain's decoder; --arch {config.arch} is train/sanet.py's")
    previous = DecoderCheckpoint.load(resume) if resume else None
    if previous is not None and previous.arch != "adain":
        raise InputError(f"{resume}: a {previous.arch} checkpoint; continue it with --arch {previous.arch}")
    log("decoding the content photos into memory")
    photos = Photos(image_files(config.content_dir, "content"), config.crop, log, shorter=2 * config.crop)
    style_files = image_files(config.style_dir, "style")
    vgg = load_vgg19(device)
    if previous is None:  # a fresh run: normalise the encoder on the photos it will see
        rng = random.Random(config.seed)
        means = channel_means(Encoder(vgg).to(device), (photos.batch(config.batch, rng).to(device)
                                                        for _ in range(16))) if config.normalise else {}
    else:
        means = previous.channel_means
    encoder = Encoder(vgg, means).to(device)
    paintings = Paintings(config.style_dir, style_files, config.style_size, encoder, cache_path(out))
    log(f"{len(photos.images)} photos, {len(paintings.files)} paintings "
        f"({len(paintings.stats)} with statistics cached in {cache_path(out)})")
    decoder = Decoder().to(device)
    opt = torch.optim.Adam(decoder.parameters(), lr=config.learning_rate)
    record = previous.record if previous is not None else Record()
    record.config = asdict(config)  # this run's settings; the phases keep each earlier run's
    if previous is not None:
        decoder.load_state_dict(previous.decoder)
        if previous.optimizer is not None:
            opt.load_state_dict(previous.optimizer)
        log(f"resuming at step {record.steps} from {resume}")
    new_phase(record, device, config.precision, command, crop=config.crop, batch=config.batch,
              style_size=config.style_size, identity_weight=config.identity_weight,
              feature_identity_weight=config.feature_identity_weight, content_photos=len(photos.images),
              style_paintings=len(paintings.files))
    rng = random.Random(f"{config.seed}:{record.steps}")

    def step(n: int) -> dict[str, torch.Tensor]:
        for group in opt.param_groups:
            group["lr"] = config.learning_rate / (1 + config.lr_decay * (n - 1))
        content = photos.batch(config.batch, rng).to(device, non_blocking=True)
        style = paintings.batch(config.batch, rng, encoder, device)
        with autocast(device, config.precision):
            values = losses(encoder, decoder, content, style, config)
        opt.zero_grad(set_to_none=True)
        values["total"].backward()
        opt.step()
        return {k: v.detach() for k, v in values.items()}

    def save(record: Record) -> None:
        state = DecoderCheckpoint({k: v.detach().cpu() for k, v in decoder.state_dict().items()}, means, record,
                                  opt.state_dict())
        state.save_training(out)
        state.save_decoder(decoder_path(out))
        paintings.save()

    return train(step, record=record, steps=config.steps, save=save, save_every=config.save_every,
                 stage="train-decoder", progress=progress,
                 on_log=lambda row: _append_log(log_path(out), row, opt.param_groups[0]["lr"]))


def decoder_path(out: Path) -> Path:
    return out.with_name(out.stem + ".decoder.pt")


def cache_path(out: Path) -> Path:
    return out.with_name(out.stem + ".paintings.pt")


def log_path(out: Path) -> Path:
    return out.with_name(out.stem + ".log.tsv")


def _append_log(path: Path, row: dict[str, float], lr: float) -> None:
    """One line per 50 steps: mean losses since the last line, seconds into this run, lr.

    A run whose losses differ from the file's (an identity loss switched on) starts a new header.
    """
    header = "\t".join([*row, "lr"])
    last = ""
    if path.exists():
        with open(path, encoding="utf-8") as fh:
            last = ([line.strip() for line in fh if line.startswith("step\t")] or [""])[-1]
    with open(path, "a", encoding="utf-8") as fh:
        if last != header:
            fh.write(header + "\n")
        fh.write("\t".join([str(v) for v in row.values()] + [f"{lr:.3g}"]) + "\n")
