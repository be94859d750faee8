"""Which device runs the networks, at which precision, and (for the command line) on how many threads."""

from __future__ import annotations

import os
from typing import TypeVar

import torch

from .errors import InputError

DEVICES = ("auto", "cpu", "cuda", "mps")
M = TypeVar("M", bound=torch.nn.Module)


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


#: --precision choices (methods/configs.PRECISIONS) as autocast dtypes; None = plain fp32.
AUTOCAST_DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
#: processor flags (/proc/cpuinfo) that mean bf16 arithmetic in hardware: x86's AVX512-BF16 and AMX,
#: ARM's BF16 extension
BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}
#: what runs in bf16 where the hardware has it: inference of adain and sanet, every trainer (their
#: losses are taken in fp32: ops.mean_std, ops.gram), and StyleAugment, cin's included (augmentation
#: wants variety more than the last percent of fidelity that keeps `stylize run`'s cin in fp32)
BF16_FIT = {"adain", "sanet", "train", "augment"}


def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this processor computes in bf16 natively (about twice the rate of fp32 there).

    Read from the flags the kernel lists; where it lists none (macOS, Windows) the answer is no,
    so those keep fp32. STYLIZE_CPU_BF16=1 or 0 overrides the detection either way.
    """
    forced = os.environ.get("STYLIZE_CPU_BF16", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("flags", "features") and BF16_FLAGS & set(value.split()):
                    return True
    except OSError:
        pass
    return False


def resolve_precision(precision: str | None, device: torch.device, method: str = "") -> str:
    """`auto` (or None) as the precision a method runs fastest in without a visible change.

    adain, sanet and the trainers ("train"): bf16 on a CPU with bf16 instructions and on CUDA, where
    outputs stay within the quality guard of fp32's (tests/test_devices.py; figures in
    bench/precision.py and `bench/adain.py --speed --only gpu`). cin: fp32, whose judge's figures moved beyond the guard
    in bf16 (bench/README.md, 'Precision and memory layout'). A CPU without bf16 units runs bf16
    slower than fp32, so fp32 there.
    """
    if precision not in (None, "auto"):
        return precision
    if method not in BF16_FIT:
        return "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "bf16" if device.type == "cuda" else "fp32"


def memory_format(device: torch.device | str) -> torch.memory_format:
    """Channels-last on a CPU, where oneDNN's convolutions run it faster in fp32 and in bf16
    (bench/precision.py); the default layout elsewhere until a GPU measures otherwise
    (bench/adain.py --speed). STYLIZE_CHANNELS_LAST=1 or 0 overrides it on every device."""
    forced = os.environ.get("STYLIZE_CHANNELS_LAST", "").strip()
    last = forced == "1" if forced in ("0", "1") else torch.device(device).type == "cpu"
    return torch.channels_last if last else torch.contiguous_format


def working(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A picture (NCHW) on `device` in the layout its networks run fastest with."""
    return tensor.to(device).contiguous(memory_format=memory_format(device))


def network_on(model: M, device: torch.device | str) -> M:
    """A network on `device`, its weights in the layout `working` gives the pictures."""
    return model.to(device, memory_format=memory_format(device))


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """Autocast to the precision's dtype on `device`; a no-op context for fp32 (resolve "auto" first)."""
    dtype = AUTOCAST_DTYPES[precision]
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)
