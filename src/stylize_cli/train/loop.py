"""The one training loop: steps, losses logged, checkpoints, Ctrl-C and SIGTERM, resuming.

Every trainer (`train-decoder`, `train-style`, and the ones to come) supplies a
step function and a save function; this loop owns the rest, so a signal never
lands inside a checkpoint write and every run records the same history. What a
run did is kept as typed records (`Phase`, `Record`) that checkpoints store as
plain dicts, since `torch.load(weights_only=True)` reads nothing else.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch

from ..errors import Interrupted, StylizeError
from ..methods import ProgressCallback, ProgressEvent
from ..stop import StopRequests

SAVE_SECONDS = 600  #: a checkpoint at least this often, whatever --save-every says
MAX_NONFINITE = 20  #: steps in a row whose loss is not finite before a run gives up


def descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> bool:
    """One optimiser step on `loss`, unless the loss or a gradient is not finite: then the weights stay
    as they were. A batch the losses cannot score (a NaN, an overflow) must not make the weights NaN,
    which every later checkpoint would keep. Returns whether it stepped.

    The check reads one flag back from the device, not one per tensor: on a GPU each read waits for
    all the work queued before it, so a read per parameter made the host wait once per parameter.
    """
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not torch.stack([torch.isfinite(loss.detach()).all(), *(torch.isfinite(g).all() for g in grads)]).all():
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    return True


def read(losses: dict[str, torch.Tensor]) -> dict[str, float]:
    """A step's losses as numbers, read back from the device in one transfer (see `descend`)."""
    values = torch.stack([v.detach().float().reshape(()) for v in losses.values()]).tolist()
    return dict(zip(losses, values, strict=True))


@dataclass
class Phase:
    """One uninterrupted run of a trainer: the model card tells its history phase by phase."""

    from_step: int
    to_step: int
    seconds: float = 0.0
    device: str = ""
    precision: str = "fp32"
    date: str = ""
    command: str = ""
    #: what this trainer varies between runs: crop, batch, loss weights, how many photos, ...
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Phase:
        """Also reads the flat dicts of checkpoints written before settings had their own key."""
        names = {f.name for f in fields(cls)}
        settings = {**{k: v for k, v in raw.items() if k not in names}, **raw.get("settings", {})}
        return cls(**{k: v for k, v in raw.items() if k in names and k != "settings"}, settings=settings)


@dataclass
class Record:
    """What a trainer's checkpoints carry besides weights: steps, phases, mean losses, config."""

    steps: int = 0
    phases: list[Phase] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)  #: mean losses, one row per log_every
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Record:
        return cls(int(raw.get("steps", 0)), [Phase.from_dict(p) for p in raw.get("phases", [])],
                   list(raw.get("history", [])), dict(raw.get("config", {})))


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU, {torch.get_num_threads()} threads"


def train(step: Callable[[int], dict[str, torch.Tensor]], *, record: Record, steps: int,
          save: Callable[[Record], None], save_every: int, stage: str,
          progress: ProgressCallback | None = None, log_every: int = 50,
          on_log: Callable[[dict[str, float]], None] | None = None) -> int:
    """Run `step(n)` for n = record.steps + 1 .. steps and return the step reached.

    `step` does one optimisation step and returns its losses; `save(record)`
    writes a checkpoint for the step in `record.steps`. The mean losses of every
    `log_every` steps go to `record.history` (and `on_log`). Checkpoints every
    `save_every` steps, every SAVE_SECONDS, at the end, and on Ctrl-C or SIGTERM:
    the step under way finishes, is saved, then Interrupted is raised. A second
    signal stops at once. Inside a step it keeps the previous checkpoint: the
    weights in memory may be half-way through an update (sanet's generator
    stepped, its critic not), so they are no step's weights. Between steps it
    saves the last finished one.
    """
    phase = record.phases[-1]
    began = last_save = time.monotonic()
    window: list[dict[str, float]] = []

    def checkpoint(n: int) -> None:
        nonlocal last_save
        record.steps, phase.to_step, phase.seconds = n, n, round(time.monotonic() - began, 1)
        save(record)
        last_save = time.monotonic()

    n = finished = record.steps
    with StopRequests() as stop:
        try:
            bad = 0
            for n in range(record.steps + 1, steps + 1):
                losses = read(step(n))
                finished = n
                bad = 0 if all(map(math.isfinite, losses.values())) else bad + 1  # `descend` skipped it
                if bad >= MAX_NONFINITE:
                    raise StylizeError(f"the loss was not finite for {bad} steps in a row (steps {n - bad + 1}-{n}); "
                                       f"the weights are those of step {n - bad}: try --precision fp32 or a lower "
                                       "learning rate")
                if not bad or not window:
                    window.append(losses)
                if n % log_every == 0 or n == steps:
                    row = {"step": n, **{k: round(sum(w[k] for w in window) / len(window), 5) for k in window[0]}}
                    record.history.append(row)
                    window = []
                    if on_log:
                        on_log({**row, "seconds": round(time.monotonic() - began)})
                if progress:
                    progress(ProgressEvent(stage, n, steps, losses))
                if stop.requested or n % save_every == 0 or time.monotonic() - last_save > SAVE_SECONDS:
                    checkpoint(n)
                if stop.requested:
                    raise Interrupted()
        except Interrupted:
            raise
        except KeyboardInterrupt:  # signalled twice
            if finished == n:  # between steps: the weights are step n's
                checkpoint(n)
                raise Interrupted(note=f"saved step {n}") from None
            raise Interrupted(note=f"stopped inside step {n}; the checkpoint of step {record.steps} "
                                   "is kept") from None
    checkpoint(n)
    return n


def new_phase(record: Record, device: torch.device, precision: str, command: str, **settings: Any) -> Phase:
    """Start this run's phase at the step the record reached."""
    phase = Phase(record.steps, record.steps, device=hardware(device), precision=precision,
                  date=time.strftime("%Y-%m-%d"), command=command, settings=settings)
    record.phases.append(phase)
    return phase
