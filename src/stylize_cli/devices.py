"""Which device runs the networks, at which precision, and (for the command line) on how many threads."""

from __future__ import annotations

import os

import torch

from .errors import InputError

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """Resolve `auto` to cuda, then mps, then cpu; refuse a device that is not there.

    A user asking for `cuda` on a machine without it wants to know, not to get
    a silent CPU run that takes fifty times longer.
    """
    base = name.split(":", 1)[0]
    if base not in DEVICES:
        raise InputError(f"unknown device '{name}': choose one of {', '.join(DEVICES)}")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device '{name}' requested but this PyTorch sees no CUDA GPU")
    if base == "mps" and not _mps_available():
        raise InputError(f"device '{name}' requested but Apple MPS is not available here")
    return torch.device(name)


def use_all_cores() -> None:
    """Let torch use every core this process may run on (it defaults to physical cores only).

    A process-wide setting, so only the command line calls it; a program using
    the library keeps whatever thread count it chose.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    if torch.get_num_threads() < cores:
        torch.set_num_threads(cores)


#: --precision choices (methods/configs.PRECISIONS): None = plain fp32, otherwise the autocast dtype.
AUTOCAST_DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def adain_precision(device: torch.device) -> str:
    """adain's default: bf16 on CUDA, faster there with the output indistinguishable from fp32's
    (`bench/adain.py --speed --only gpu`; bench/README.md, 'Speed'); fp32 elsewhere (CPUs without
    bf16 units run it slower)."""
    return "bf16" if device.type == "cuda" else "fp32"


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """Autocast to the precision's dtype on `device`; a no-op context for fp32."""
    dtype = AUTOCAST_DTYPES[precision]
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)
