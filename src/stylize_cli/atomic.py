"""Write a file so that readers see the old content or the new, never half of it, and never
over a file the same run reads."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import InputError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """A temporary file beside `path`, renamed over it only if the block succeeds.

    Same folder, so os.replace is a rename on one filesystem; fsync first, so a
    power cut after the rename cannot expose an empty file; the mode follows
    the umask like any normal file (mkstemp alone would make it 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_id(path: str | os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of an existing file, links followed: every name of one file (`./a.jpg`,
    a symlink, a hard link) gives the same pair; None when nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_replacing(output: str | os.PathLike, sources: Iterable[object]) -> None:
    """Refuse an output that is one of the run's own input files, however either path is spelled.

    `sources` may hold things that are not files (a style's name, a PIL image): those are passed over.
    """
    target = file_id(output)
    if target is None:
        return
    for source in sources:
        if isinstance(source, (str, os.PathLike)) and file_id(source) == target:
            raise InputError(f"{output}: is the input {source}; writing there would replace it, "
                             "so give the output another name")


def remove_leftovers(folder: Path, names: set[str]) -> None:
    """Temporary files that a killed run (`kill -9`, a power cut) left beside these outputs
    (`.NAME.*.part`): the next run into the same names removes them."""
    for leftover in folder.glob(".*.part"):  # nothing when the folder does not exist yet
        if any(leftover.name.startswith(f".{name}.") for name in names):
            leftover.unlink(missing_ok=True)
