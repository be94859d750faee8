"""train-decoder: the skeleton every decoder trainer shares; the architectures bring their losses.

A run reads photos (decoded once, kept in memory as uint8 at twice the crop
size), resumes from a checkpoint of its own architecture, records a phase,
decays the learning rate as the AdaIN paper's code does, and leaves three
files: OUT (resumable: fp32 weights and the optimisers' state), OUT.decoder.pt
(fp16, what `--decoder` and the package take) and OUT.log.tsv (mean losses); with
keep_every, OUT.STEP.decoder.pt as well, since a run's best point is found afterwards.
What differs, the networks, the data they need and one step's losses, is a
`Recipe`: `train/adain.py` (AdaIN's decoder) and `train/sanet.py` (SANet's
attention and decoder, with IEST's losses).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Protocol

import torch

from ..devices import resolve_precision
from ..errors import InputError
from ..methods import ProgressCallback
from .adain import AdainRecipe
from .data import Photos, image_files
from .decoder_state import DecoderCheckpoint, TrainDecoderConfig
from .loop import Record, new_phase, train
from .sanet import SanetRecipe


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
    photos = Photos(image_files(config.content_dir, "content"), config.crop, log, shorter=2 * config.crop,
                    device=device)
    with torch.random.fork_rng(devices=[]):  # the same seed, the same fresh networks; the caller's RNG untouched
        torch.manual_seed(config.seed)
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
        if config.keep_every and record.steps % config.keep_every == 0:
            state.save_decoder(decoder_path(out, record.steps))
        recipe.saved()

    return train(step, record=record, steps=config.steps, save=save, save_every=config.save_every,
                 stage=recipe.stage, progress=progress,
                 on_log=lambda row: append_log(log_path(out), row, recipe.optimizers[0].param_groups[0]["lr"]))


def _recipe(arch: str) -> Callable[..., Recipe]:
    return SanetRecipe if arch == "sanet" else AdainRecipe


def decoder_path(out: Path, step: int | None = None) -> Path:
    """OUT.decoder.pt, the latest; OUT.STEP.decoder.pt, one kept by --keep-every."""
    return out.with_name(f"{out.stem}{'' if step is None else f'.{step}'}.decoder.pt")


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
