"""What a decoder trainer is configured with and what it writes: the config of train-decoder and
the two checkpoint files. Below the skeleton (decoder.py) and the recipes (adain.py, sanet.py),
which all use them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import weights
from ..atomic import atomic_write
from ..errors import InputError, OptionError
from ..models.adain import DECODER_FORMAT
from ..models.sanet import SANET_FORMAT
from .loop import Record

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
    #: adain: weight of a penalty on periodic texture where the photo is flat (ops.periodicity of the
    #: output's flattest patches in grey levels, as `stylize eval` measures hatching), 0 = off
    hatching_weight: float = 0.0
    #: sanet: weight of IEST's two contrastive losses (Chen et al. 2021; 0.3 there), 0 = off
    contrastive_weight: float = 0.0
    #: sanet: weight of IEST's external (adversarial) loss against the whole painting set (5 there), 0 = off
    external_weight: float = 0.0
    #: sanet, fresh runs: start the decoder from the shipped adain decoder (same architecture)
    from_adain: bool = True
    #: auto: bf16 autocast on CUDA and on CPUs with bf16 instructions, fp32 elsewhere (devices.py)
    precision: str = "auto"
    #: torch.compile each step's losses (the networks with them): the first step waits for the
    #: compiler, the rest run fused kernels; bench/adain.py --speed measures whether that pays
    compile: bool = False
    #: Rescale the encoder's channels to mean 1 (see models/adain.py). Off by default: the raw VGG
    #: trained better (bench/README.md, 'Figures behind defaults').
    normalise: bool = False
    seed: int = 0
    save_every: int = 200  #: steps between checkpoints (also at least every 10 minutes)
    #: also keep the decoder of every this many steps (0: only the latest), to judge a run at several points
    keep_every: int = 0

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
        if sanet and self.hatching_weight:
            raise OptionError("hatching_weight", "is adain's (sanet's attention copies the painting's own patterns)")
        if sanet and (self.batch < 4 or self.batch % 2):
            raise OptionError("batch", f"must be even and at least 4 for sanet (pairs of half-batches), "
                                       f"got {self.batch}")
        if self.crop < 64 or self.crop % 8:
            raise OptionError("crop", f"must be a multiple of 8 and at least 64, got {self.crop}")
        for name, least in (("style_size", 64), ("steps", 1), ("batch", 1), ("save_every", 1)):
            if getattr(self, name) < least:
                raise OptionError(name, f"must be at least {least}, got {getattr(self, name)}")
        for name in ("identity_weight", "feature_identity_weight", "contrastive_weight", "external_weight",
                     "hatching_weight"):
            if (getattr(self, name) or 0) < 0:
                raise OptionError(name, f"must be at least 0, got {getattr(self, name)}")
        if self.keep_every < 0 or self.keep_every % self.save_every:
            raise OptionError("keep_every", f"must be 0 (off) or a multiple of the save interval "
                                            f"({self.save_every}), got {self.keep_every}")
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


def average(checkpoints: list[DecoderCheckpoint]) -> DecoderCheckpoint:
    """The mean of several checkpoints' weights (Polyak averaging of one run's kept decoders).

    A run's checkpoints a few dozen steps apart swing in quality as much as
    different recipes do; on the two runs tried, the mean of three judged better
    than any one of them (bench/README.md, the hatching fine-tunes). The record is the latest one's,
    with the averaged steps in its config. Only checkpoints of one run make
    sense: the same architecture and encoder normalisation are required.
    """
    if not checkpoints:
        raise InputError("no decoders to average")
    first, latest = checkpoints[0], max(checkpoints, key=lambda c: c.record.steps)
    for c in checkpoints[1:]:
        if c.arch != first.arch or c.decoder.keys() != first.decoder.keys():
            raise InputError(f"{c.source}: a {c.arch} decoder; {first.source} is {first.arch}: average one run's")
        if c.channel_means.keys() != first.channel_means.keys() or not all(
                torch.equal(c.channel_means[k], first.channel_means[k]) for k in first.channel_means):
            raise InputError(f"{c.source}: another encoder normalisation than {first.source}: average one run's")

    def mean(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {k: torch.stack([s[k].float() for s in states]).mean(dim=0) for k in states[0]}

    def averageable(name: str) -> bool:  # a decoder file lacks the training heads a checkpoint has
        return all(name in c.parts and all(isinstance(v, torch.Tensor) for v in c.parts[name].values())
                   for c in checkpoints)

    parts = {name: mean([c.parts[name] for c in checkpoints]) if averageable(name) else part
             for name, part in latest.parts.items()}
    record = Record.from_dict(latest.record.to_dict())
    record.config["averaged_steps"] = sorted(c.record.steps for c in checkpoints)
    return DecoderCheckpoint(mean([c.decoder for c in checkpoints]), latest.channel_means, record, None,
                             latest.arch, parts, "average")
