"""Prepared paintings on disk, keyed by the painting's sha256, so a pool of paintings is encoded once.

A dataset run draws from thousands of paintings over many runs and shards; encoding a painting
(adain's relu4_1 statistics, cin's style vector) costs as much as stylizing a photo. A method
that can (`pack` and `unpack`, and a `cache_key` naming what its preparation depends on) keeps
what one painting prepared to in `STYLIZE_CACHE/prepared/METHOD/`, written atomically (shards
share the folder) and read with `torch.load(weights_only=True)`; a file that does not read back
or belongs to another key is simply prepared again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import torch

from .atomic import atomic_write
from .weights import cache_dir, sha256_of

FORMAT = "stylize-prepared-style/1"


_digests: dict[tuple[str, int, int], str] = {}


def digest(path: str | os.PathLike) -> str:
    """A painting file's sha256, read once per process while the file is unchanged: stylizers'
    settings and this cache name a painting by it, and a dataset run meets each painting many times."""
    info = os.stat(path)
    key = (os.path.realpath(path), info.st_size, info.st_mtime_ns)
    if key not in _digests:
        _digests[key] = sha256_of(path)
    return _digests[key]


def cacheable(method: Any) -> bool:
    return all(hasattr(method, name) for name in ("pack", "unpack", "cache_key"))


def load_or_prepare(method: Any, painting_sha256: str, prepare: Callable[[], Any]) -> Any:
    """`prepare()`'s result for the painting file with this sha256, from the cache when it holds
    that painting with these settings, else computed and stored."""
    key = f"{FORMAT} {method.name} {method.cache_key()} {painting_sha256}"
    path = cache_dir() / "prepared" / method.name / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pt"
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(stored, dict) and stored.get("key") == key:
            return method.unpack(stored["state"])
    except Exception:  # noqa: BLE001 (missing, damaged, or from another torch: prepare again)
        pass
    prepared = prepare()
    try:
        with atomic_write(path) as fh:
            torch.save({"key": key, "state": method.pack(prepared)}, fh)
    except OSError:
        pass  # a read-only or full cache costs the next run an encoding, nothing more
    return prepared
