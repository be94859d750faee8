"""train-decoder: the skeleton every decoder trainer shares; the architectures bring their losses.

A run reads photos (decoded once, kept in memory as uint8 at twice the crop
size), resumes from a checkpoint of its own architecture, records a phase,
decays the learning rate as the AdaIN paper's code does, and leaves three
files: OUT (resumable: fp32 weights and the optimisers' state), OUT.decoder.pt
(fp16, what `--decoder` and the package take) and OUT.log.tsv (mean losses).
What differs, the networks, the data they need and one step's losses, is a
`Recipe`: `train/adain.py` (AdaIN's decoder) and `train/sanet.py` (SANet's
attention and decoder, with IEST's losses).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import torch

from .. import weights
from ..atomic import atomic_write
from ..devices import resolve_precision
from ..errors import InputError, OptionError
from ..methods import ProgressCallback
from ..models.adain import DECODER_FORMAT
from ..models.sanet import SANET_FORMAT
from .data import Photos, image_files
from .loop import Record, new_phase, train

ARCHS = ("adain", "sanet")
TRAINING_FORMAT = "stylize-adain-train/1"  #: a resumable checkpoint: fp32 weights and Adam's state


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
    #: photo's feature energy there, else relu4_1 (activations far larger than relu1_1's) drowns the rest.
    #: Costs one more encoder pass, on the redrawn photos.
    feature_identity_weight: float | None = None  #: None: adain 0, sanet 1 (SANet's)
    #: sanet: weight of IEST's two contrastive losses (Chen et al. 2021; 0.3 there), 0 = off
    contrastive_weight: float = 0.0
    #: sanet: weight of IEST's external (adversarial) loss against the whole painting set (5 there), 0 = off
    external_weight: float = 0.0
    #: sanet, fresh runs: start the decoder from the shipped adain decoder (same architecture)
    from_adain: bool = True
    #: auto: bf16 autocast on CUDA and on CPUs with bf16 instructions, fp32 elsewhere (devices.py)
    precision: str = "auto"
    #: Rescale the encoder's channels to mean 1 (see models/adain.py). Off by default: the raw VGG
    #: trained better (bench/README.md, 'Figures behind defaults').
    normalise: bool = False
    seed: int = 0
    save_every: int = 200  #: steps between checkpoints (also at least every 10 minutes)

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise OptionError("arch", f"{self.arch!r}: choose {' or '.join(ARCHS)}")
        sanet = self.arch == "sanet"
        for name, (adain, attention) in {"style_weight": (10.0, 3.0), "identity_weight": (0.0, 50.0),
                                         "feature_identity_weight": (0.0, 1.0)}.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, attention if sanet else adain)
        for name in ("contrastive_weight", "external_weight"):
            if not sanet and getattr(self, name):
                raise OptionError(name, "is one of sanet's losses: train arch sanet for it")
        if sanet and (self.batch < 4 or self.batch % 2):
            raise OptionError("batch", f"must be even and at least 4 for sanet (pairs of half-batches), "
                                       f"got {self.batch}")
        if self.crop < 64 or self.crop % 8:
            raise OptionError("crop", f"must be a multiple of 8 and at least 64, got {self.crop}")
        for name, least in (("style_size", 64), ("steps", 1), ("batch", 1)):
            if getattr(self, name) < least:
                raise OptionError(name, f"must be at least {least}, got {getattr(self, name)}")
        for name in ("identity_weight", "feature_identity_weight", "contrastive_weight", "external_weight"):
            if (getattr(self, name) or 0) < 0:
                raise OptionError(name, f"must be at least 0, got {getattr(self, name)}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise OptionError("precision", f"{self.precision!r}: choose auto, fp32 or bf16")


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
    source: str = ""  #: the file it was loaded from, for messages

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
                   {name: {k: v.float() for k, v in part.items()} for name, part in parts.items()}, str(path))

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


class Recipe(Protocol):
    """One architecture's part of a run: built from the config, the photos and the checkpoint
    resumed (None for a fresh run); it logs what it loaded."""

    stage: str  #: the progress bar's label
    optimizers: list[torch.optim.Optimizer]  #: their learning rates follow the run's schedule
    settings: dict[str, Any]  #: what the phase records besides crop, batch, style size and photos

    def step(self, rng: random.Random) -> dict[str, torch.Tensor]:
        """One optimisation step (every network the recipe trains); its losses, "total" included."""
        ...

    def checkpoint(self, record: Record) -> DecoderCheckpoint: ...

    def saved(self) -> None:
        """After each checkpoint (adain writes its painting statistics cache)."""
        ...


def train_decoder(config: TrainDecoderConfig, device: torch.device, out: Path, *,
                  resume: Path | None = None, command: str = "",
                  progress: ProgressCallback | None = None,
                  log: Callable[[str], None] = lambda _: None) -> int:
    """Train to `config.steps`, writing `out` (resumable) and `out`.decoder.pt (usable by --decoder).

    Returns the step reached. Ctrl-C or SIGTERM finishes the step, saves, then raises Interrupted.
    """
    config = replace(config, precision=resolve_precision(config.precision, device, "train"))
    previous = DecoderCheckpoint.load(resume) if resume else None
    if previous is not None and previous.arch != config.arch:
        raise InputError(f"{resume}: a {previous.arch} checkpoint; continue it with arch {previous.arch}")
    log("decoding the photos into memory")
    photos = Photos(image_files(config.content_dir, "content"), config.crop, log, shorter=2 * config.crop)
    recipe = _recipe(config.arch)(config, device, photos, previous, out, log)
    record = previous.record if previous is not None else Record()
    record.config = asdict(config)  # this run's settings; the phases keep each earlier run's
    if previous is not None:
        log(f"resuming at step {record.steps} from {resume}")
    new_phase(record, device, config.precision, command, crop=config.crop, batch=config.batch,
              style_size=config.style_size, content_photos=len(photos.images), **recipe.settings)
    rng = random.Random(f"{config.seed}:{record.steps}")

    def step(n: int) -> dict[str, torch.Tensor]:
        for optimizer in recipe.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate / (1 + config.lr_decay * (n - 1))
        return {k: v.detach() for k, v in recipe.step(rng).items()}

    def save(record: Record) -> None:
        state = recipe.checkpoint(record)
        state.save_training(out)
        state.save_decoder(decoder_path(out))
        recipe.saved()

    return train(step, record=record, steps=config.steps, save=save, save_every=config.save_every,
                 stage=recipe.stage, progress=progress,
                 on_log=lambda row: append_log(log_path(out), row, recipe.optimizers[0].param_groups[0]["lr"]))


def _recipe(arch: str) -> Callable[..., Recipe]:
    if arch == "sanet":
        from .sanet import SanetRecipe

        return SanetRecipe
    from .adain import AdainRecipe

    return AdainRecipe


def decoder_path(out: Path) -> Path:
    return out.with_name(out.stem + ".decoder.pt")


def log_path(out: Path) -> Path:
    return out.with_name(out.stem + ".log.tsv")


def append_log(path: Path, row: dict[str, float], lr: float) -> None:
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
