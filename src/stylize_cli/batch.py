"""Batch conversion: plan jobs from folders, skip finished work, shard, report.

Planning is pure (no model loaded), so `--shard` and the skip rule can be
tested on their own. Running reuses one prepared style per style for every
image (the method interface's `Prepared`), decodes upcoming images in
background threads, writes each output atomically, and records every job,
so a killed run leaves only complete files and a rerun does only what is left.
"""

from __future__ import annotations

import fnmatch
import glob as globbing
import hashlib
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from .api import stylize_many
from .atomic import atomic_write, file_id, remove_leftovers
from .errors import DiskFull, ExitStatus, InputError, OptionError, StylizeError
from .images import FULL, IMAGE_SUFFIXES, SAVE_FORMATS, LoadedImage, load_image, save_image
from .recent import Recent

DEFAULT_NAME = "{stem}_{style}{suffix}"
DRAWN = "\0drawn"  #: run()'s group of jobs with drawn paintings (no style label can be this)
_SAFE = re.compile(r"[^\w.-]+", re.UNICODE)
_MAGIC = set("*?[")


@dataclass(frozen=True)
class Job:
    input: Path
    output: Path
    style: str  #: label of the style (or "mix") used in names and records
    painting: str = ""  #: with a drawn painting (--random): its path, recorded with the seed
    seed: int | None = None  #: the --seed of the draw, recorded
    alpha: float | None = None  #: a strength drawn for this output (--alpha-range), else the run's


def expand_styles(styles: Sequence[object]) -> list[object]:
    """Styles as given, with each folder replaced by the pictures in it (and its subfolders), sorted."""
    expanded: list[object] = []
    for style in styles:
        if isinstance(style, (str, os.PathLike)) and Path(style).is_dir():
            pictures = sorted(p for p in Path(style).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not pictures:
                raise InputError(f"{style}: a folder of styles with no pictures in it")
            expanded += pictures
        else:
            expanded.append(style)
    return expanded


def draw_strength(low: float, high: float, seed: int, relative: str, label: str) -> float:
    """A strength in [low, high] for one output, drawn like `draw` (and apart from it)."""
    key = hashlib.sha256(f"{seed}\0{relative}\0alpha\0{label}".encode()).digest()
    return round(random.Random(key).uniform(low, high), 3)


def draw(pool: int, k: int, seed: int, relative: str) -> list[int]:
    """K different indices into a pool of paintings for one photo: a pure function of the seed and
    the photo's path relative to its input folder, so reruns, resumed runs and every shard agree."""
    if k > pool:
        raise OptionError("random", f"{k}: only {pool} paintings to draw from")
    key = hashlib.sha256(f"{seed}\0{relative}".encode()).digest()
    return random.Random(key).sample(range(pool), k)


@dataclass
class Report:
    """Counts and the exit status of a batch run (black's Report, for images)."""

    done: int = 0
    skipped: int = 0
    stale: int = 0  #: of the skipped, how many were made with other settings
    failed: int = 0
    seconds: float = 0.0
    failures: list[tuple[Job, str]] = field(default_factory=list)
    interrupted: bool = False  #: stopped by Ctrl-C or SIGTERM before the last job
    stopped: str = ""  #: why the run stopped before the last job on its own (a full disk), else ""

    @property
    def exit_status(self) -> int:
        if self.interrupted:
            return ExitStatus.INTERRUPTED
        if self.stopped:
            return ExitStatus.ERROR
        return ExitStatus.PARTIAL if self.failed else ExitStatus.OK

    def summary(self) -> str:
        rate = self.done / self.seconds if self.seconds > 0 else 0.0
        stale = (f" ({self.stale} made with other settings: --overwrite redoes them)" if self.stale else "")
        return (("interrupted: " if self.interrupted else "")
                + (f"stopped: {self.stopped}; " if self.stopped else "")
                + f"{self.done} done, {self.skipped} skipped{stale}, {self.failed} failed in "
                  f"{self.seconds:.1f} s ({rate:.2f} images/s)")


def parse_shard(text: str | None, environ: dict[str, str] | None = None) -> tuple[int, int] | None:
    """`K/N` (1-based) or `auto/N`, with K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.

    An array index is taken modulo N, so 0..N-1 and 1..N arrays both cover every shard.
    """
    if not text:
        return None
    env = os.environ if environ is None else environ
    match = re.fullmatch(r"(\d+|auto)/(\d+)", text.strip())
    if not match or int(match.group(2)) < 1:
        raise OptionError("shard", f"{text}: expected K/N with 1 <= K <= N, or auto/N")
    n = int(match.group(2))
    if match.group(1) == "auto":
        index = env.get("SLURM_ARRAY_TASK_ID") or env.get("JOB_COMPLETION_INDEX")
        if index is None or not index.isdigit():
            raise OptionError("shard", "auto/N needs SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX in the environment")
        return int(index) % n + 1, n
    k = int(match.group(1))
    if not 1 <= k <= n:
        raise OptionError("shard", f"{text}: K must be between 1 and {n}")
    return k, n


def in_shard(relative: str, shard: tuple[int, int] | None) -> bool:
    """A stable hash of the relative path, so the split ignores listing order and machines."""
    if shard is None:
        return True
    digest = int.from_bytes(hashlib.sha256(relative.encode("utf-8")).digest()[:8], "big")
    return digest % shard[1] == shard[0] - 1


def find_inputs(sources: Sequence[str | Path], *, recursive: bool = False, pattern: str | None = None,
                extensions: Iterable[str] | None = None) -> list[tuple[Path, Path]]:
    """(file, path relative to its source root) for every image named or found."""
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in (extensions or IMAGE_SUFFIXES)}
    found: list[tuple[Path, Path]] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.iterdir()
            for file in sorted(walker):
                if (file.is_file() and file.suffix.lower() in exts
                        and (pattern is None or fnmatch.fnmatch(file.name, pattern))):
                    found.append((file, file.relative_to(path)))
        elif path.is_file():
            found.append((path, Path(path.name)))
        elif _MAGIC & set(str(source)):
            root = glob_root(path)
            matches = sorted(Path(p) for p in globbing.glob(str(source), recursive=recursive))
            found += [(m, m.relative_to(root)) for m in matches if m.is_file() and m.suffix.lower() in exts]
        else:
            raise InputError(f"{path}: no such file or folder")
    return found


def glob_root(pattern: Path) -> Path:
    """The folders of a pattern before its first wildcard: matches keep their tree below it, as a
    folder's files do, so `shots/**/*.png` writes `a/x.png` and `b/x.png` apart."""
    fixed = []
    for part in pattern.parts[:-1]:
        if _MAGIC & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path()


def style_label(spec: object) -> str:
    name = Path(str(spec)).stem if not isinstance(spec, Image.Image) else "style"
    return _SAFE.sub("_", name) or "style"


def check_template(template: str) -> None:
    """Refuse a name template that cannot work before planning: unknown fields, names that are not
    plain file names, or no image extension (every photo would fail the same way)."""
    name = _name(template, Path("photo.jpg"), "style")
    if Path(name).suffix.lower() not in SAVE_FORMATS:
        raise OptionError("template", f"{template!r} gives {name!r}, which has no image extension; end it with "
                                      "{suffix} or one of " + ", ".join(sorted(SAVE_FORMATS)))


def _name(template: str, relative: Path, style: str) -> str:
    suffix = relative.suffix.lower() if relative.suffix.lower() in SAVE_FORMATS else ".png"
    try:
        name = template.format(stem=relative.stem, style=style, suffix=suffix, ext=suffix.lstrip("."))
    except (KeyError, IndexError, ValueError) as exc:
        problem = f"unknown field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise OptionError("template", f"{template!r}: {problem}; use {{stem}}, {{style}}, {{suffix}} or "
                                      "{ext}") from None
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise OptionError("template", f"{template!r} gives {name!r}, which is not a plain file name")
    return name


def output_for(root: Path, relative: Path, template: str, style: str) -> Path:
    """Where a job writes; refuses names that would leave the output folder."""
    target = root / relative.parent / _name(template, relative, style)
    resolved_root = root.resolve()
    resolved = target.resolve()  # follows symlinks: a link pointing outside is caught here
    if resolved_root not in resolved.parents:
        raise InputError(f"{target}: leaves the output folder {root}; refusing to write there")
    return target


def plan(sources: Sequence[str | Path], out_dir: Path, styles: Sequence[object], *, mix: bool = False,
         recursive: bool = False, pattern: str | None = None, extensions: Iterable[str] | None = None,
         template: str = DEFAULT_NAME, shard: tuple[int, int] | None = None, draws: int | None = None,
         seed: int = 0, alpha_range: tuple[float, float] | None = None) -> list[Job]:
    """Every content x style job of this shard (one job per content when styles are mixed; `draws`
    paintings per content drawn from `styles` with `seed`, see `draw`)."""
    styles = expand_styles(styles)
    out_resolved = out_dir.resolve()
    for source in sources:
        src = Path(source)
        if src.is_dir():
            s = src.resolve()
            if s == out_resolved or s in out_resolved.parents or out_resolved in s.parents:
                raise InputError(f"{out_dir}: the output folder overlaps the input folder {src}; "
                                 "choose a separate folder")
    labels = ["mix"] if mix else [style_label(s) for s in styles]
    if len(set(labels)) < len(labels):
        raise OptionError("styles", "share a name, so their outputs would collide; rename one")
    if draws is not None and (mix or draws < 1):
        raise OptionError("random", "draws paintings to use one at a time: at least 1, and not with --mix")
    if alpha_range is not None and not 0 <= alpha_range[0] <= alpha_range[1] <= 1:
        raise OptionError("alpha_range", f"{alpha_range[0]:g},{alpha_range[1]:g}: give LOW,HIGH with "
                                         "0 <= LOW <= HIGH <= 1")
    check_template(template)
    found = find_inputs(sources, recursive=recursive, pattern=pattern, extensions=extensions)
    jobs, writers = [], {}
    for file, relative in found:
        chosen = range(len(labels)) if draws is None else draw(len(labels), draws, seed, relative.as_posix())
        for index in chosen:
            label = labels[index]
            strength = (None if alpha_range is None
                        else draw_strength(*alpha_range, seed, relative.as_posix(), label))
            job = Job(file, output_for(out_dir, relative, template, label), label,
                      str(styles[index]) if draws is not None else "",
                      seed if draws is not None or alpha_range is not None else None, strength)
            # Every shard plans every input, so two shards can never write one file unseen.
            key = os.path.normcase(str(job.output)).casefold()  # x.png and x.PNG, on any file system
            if key in writers:
                raise OptionError("output", f"{out_dir}: {writers[key]} and {file} would both be written to "
                                            f"{job.output}; rename one, or use --name with a field that tells "
                                            "them apart")
            writers[key] = file
            if in_shard(relative.as_posix(), shard):
                jobs.append(job)
    read = {file_id(f) for f, _ in found} | {file_id(s) for s in styles if isinstance(s, (str, os.PathLike))}
    read.discard(None)
    for job in jobs:
        if file_id(job.output) in read:
            raise InputError(f"{job.output}: is one of the batch's own inputs; writing there would replace "
                             "it, so choose another output folder or --name")
    return jobs


def is_complete(path: Path) -> bool:
    """Outputs are renamed into place only when whole, so a readable header means done."""
    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 (reading the header is the check)
        return path.stat().st_size > 0
    except (OSError, ValueError):
        return False


def settings_file(output: Path) -> Path:
    """Where the settings that made an output are kept: a hidden file beside it."""
    return output.with_name(f".{output.name}.stylize.json")


def recorded_settings(output: Path) -> dict[str, Any] | None:
    """The settings an output was made with; None when unknown (made by hand, or before they were kept)."""
    try:
        value = json.loads(settings_file(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _save(image: Image.Image, output: Path, settings: dict[str, Any]) -> None:
    """The picture, then what made it. The old settings go first, so a run killed in between leaves
    an output whose settings are unknown (skipped) rather than the old run's (wrongly redone)."""
    settings_file(output).unlink(missing_ok=True)
    save_image(image, output)
    try:
        with atomic_write(settings_file(output), "w") as fh:
            json.dump(settings, fh, sort_keys=True)
    except OSError as exc:
        if exc.errno in FULL:
            raise DiskFull(f"{settings_file(output)}: could not save (no space left on the device)") from None
        raise


def remove_stale_temporaries(jobs: Sequence[Job]) -> None:
    """Temporary files of a killed run (`.NAME.*.part` beside each output) are removed."""
    names: dict[Path, set[str]] = {}
    for job in jobs:
        names.setdefault(job.output.parent, set()).add(job.output.name)
    for folder, outputs in names.items():
        remove_leftovers(folder, outputs)


Record = dict[str, object]


def run(jobs: Sequence[Job], stylizers: Mapping[str, Any] | Recent[str, Any], *, overwrite: bool = False,
        fail_fast: bool = False, on_record: Callable[[Record], None] = lambda r: None, prefetch: int = 2,
        batch_size: int = 1) -> Report:
    """Run the jobs in order, decoding the next images in background threads.

    With batch_size > 1, photos are gathered per style (photos with drawn paintings all together)
    and each full group goes to `stylize_many` (one network pass per size on a GPU); a failing
    group is retried one photo at a time, so one bad photo never costs the others.
    Ctrl-C (KeyboardInterrupt, `Interrupted`) stops the run: finished outputs
    stay, the photo under way is not written, and the report says so.
    """
    report = Report()
    start = time.perf_counter()
    remove_stale_temporaries(jobs)
    known: dict[str, dict[str, Any]] = {}

    def settings(job: Job) -> dict[str, Any]:
        """What made (or will make) this job's output: its stylizer's settings, its own strength."""
        if job.style not in known:
            known[job.style] = _jsonable(stylizers[job.style].settings)
        return known[job.style] if job.alpha is None else {**known[job.style], "alpha": job.alpha}

    todo = [j for j in jobs if overwrite or not is_complete(j.output)]
    pending = set(todo)
    for job in jobs:
        if job not in pending:
            report.skipped += 1
            made_with = recorded_settings(job.output)
            stale = made_with is not None and made_with != settings(job)
            report.stale += stale
            entry = _record(job, "skipped", 0.0, None)
            if stale:
                entry["note"] = "made with other settings; --overwrite redoes it"
            on_record(entry)

    def failed(job: Job, exc: BaseException, seconds: float) -> None:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if str(job.input) not in message and str(job.output) not in message:
            message = f"{job.input}: {message}"
        report.failed += 1
        report.failures.append((job, message))
        on_record(_record(job, "failed", seconds, message))

    def flush(group: list[tuple[Job, LoadedImage]]) -> None:
        began = time.perf_counter()
        try:
            images = stylize_many([(stylizers[job.style], image, job.alpha) for job, image in group])
        except _FAILURES as exc:
            if len(group) > 1:
                for item in group:
                    flush([item])
            else:
                failed(group[0][0], exc, time.perf_counter() - began)
            return
        each = (time.perf_counter() - began) / len(group)
        for (job, _), image in zip(group, images, strict=True):
            try:
                _save(image, job.output, settings(job))
            except DiskFull as exc:
                failed(job, exc, each)
                report.stopped = f"no space left on the device ({job.output.parent})"
                raise _Stop from None
            except _FAILURES as exc:
                failed(job, exc, each)
                continue
            report.done += 1
            on_record(_record(job, "done", each, None))

    groups: dict[str, list[tuple[Job, LoadedImage]]] = {}  #: per style, photos waiting for a pass
    pool = ThreadPoolExecutor(max_workers=prefetch)
    try:
        for job, loaded in _decoded(todo, pool, prefetch):
            if fail_fast and report.failed:
                break
            try:
                image = loaded.result()
            except _FAILURES as exc:
                failed(job, exc, 0.0)
                continue
            key = DRAWN if job.painting else job.style  # drawn paintings share a batch (stylize_many)
            group = groups.setdefault(key, [])
            group.append((job, image))
            if len(group) >= batch_size:
                flush(groups.pop(key))
        for group in groups.values():
            if not (fail_fast and report.failed):
                flush(group)
    except _Stop:  # every later output would fail the same way
        pass
    except KeyboardInterrupt:  # Interrupted included: stop here, report what was done
        report.interrupted = True
    finally:
        pool.shutdown(wait=not report.interrupted, cancel_futures=True)
    report.seconds = time.perf_counter() - start
    return report


_FAILURES = (StylizeError, OSError, RuntimeError, MemoryError)


class _Stop(Exception):
    """Ends a run early on its own (report.stopped says why)."""


def _decoded(jobs: Sequence[Job], pool: ThreadPoolExecutor,
             ahead: int) -> Iterator[tuple[Job, Future[LoadedImage]]]:
    """Each job with its decoded input; the same input is decoded once for all its styles."""
    futures: dict[Path, Future[LoadedImage]] = {}
    for i, job in enumerate(jobs):
        for upcoming in jobs[i:i + ahead * 4]:
            if upcoming.input not in futures:
                futures[upcoming.input] = pool.submit(load_image, upcoming.input)
        yield job, futures[job.input]
        if i + 1 == len(jobs) or jobs[i + 1].input != job.input:
            futures.pop(job.input, None)  # free the decoded image once its styles are done


def record(input: Path, output: Path, style: str, status: str, seconds: float, error: str | None) -> Record:
    """What `--json` prints for one output, the same for one photo and for a batch."""
    return {"input": str(input), "output": str(output), "style": style, "status": status,
            "seconds": round(seconds, 3), "error": error}


def _jsonable(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as they read back from their file (tuples become lists), so the two compare equal."""
    return json.loads(json.dumps(settings, default=str))


def _record(job: Job, status: str, seconds: float, error: str | None) -> Record:
    entry = record(job.input, job.output, job.style, status, seconds, error)
    if job.painting:  # a drawn painting: which one, and the seed that drew it
        entry.update(painting=job.painting, seed=job.seed)
    if job.alpha is not None:
        entry.update(alpha=job.alpha, seed=job.seed)
    return entry
