"""What every quality bench shares: the validation pairs, child processes, summaries, tables, JSON.

The validation set: a fixed, seeded sample of photo x painting pairs from ../shared/images (content x
style), leaving out every picture whose sha256 is also in the training sets' manifests
(../shared/photos, ../shared/paintings), so no network is judged on what it learned from. Defaults
are chosen on it, by mean and worst decile, never on a handful of pairs.

A measurement runs in a child process (`child`, the same script with `--child ARG`; `as_child` is
the child's side): its peak resident memory is its own, and a crash costs one row. The child prints
one JSON line last; the harness reads it. Every output is scored as `stylize eval` scores it (`score`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak import measure

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IMAGES = Path(os.environ.get("STYLIZE_IMAGES", SHARED / "images"))  # content/, style/
TRAINING_MANIFESTS = (SHARED / "photos" / "manifest.tsv", SHARED / "paintings" / "manifest.tsv")
PAIRS = 48
SEED = 2026
SIZE = 512
#: textures, not paintings: a style transfer of a brick wall says little about paintings
NOT_PAINTINGS = {"brick.png", "grass.png", "gravel.png"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_hashes() -> set[str]:
    hashes: set[str] = set()
    for manifest in TRAINING_MANIFESTS:
        if manifest.is_file():
            rows = [line.split("\t") for line in manifest.read_text().splitlines()[1:]]
            hashes.update(row[2].strip() for row in rows if len(row) >= 3)
    return hashes


def validation_pairs(count: int = PAIRS, seed: int = SEED) -> list[tuple[Path, Path]]:
    """`count` (photo, painting) pairs: every photo and painting outside the training sets, drawn so
    each photo and each painting appears about equally often."""
    seen = training_hashes()
    photos = [p for p in sorted((IMAGES / "content").iterdir()) if p.is_file() and _sha256(p) not in seen]
    paintings = [p for p in sorted((IMAGES / "style").iterdir())
                 if p.is_file() and p.name not in NOT_PAINTINGS and _sha256(p) not in seen]
    rng = random.Random(seed)
    pairs: list[tuple[Path, Path]] = []
    used: set[tuple[Path, Path]] = set()
    while len(pairs) < count:
        ps, ss = photos[:], paintings[:]
        rng.shuffle(ps)
        rng.shuffle(ss)
        for i in range(max(len(ps), len(ss))):
            pair = (ps[i % len(ps)], ss[i % len(ss)])
            if pair not in used and len(pairs) < count:
                used.add(pair)
                pairs.append(pair)
    return pairs


def excluded() -> list[str]:
    """The sample pictures left out because a training set holds the same file."""
    seen = training_hashes()
    return [f"{p.parent.name}/{p.name}" for folder in ("content", "style") for p in sorted((IMAGES / folder).iterdir())
            if p.is_file() and _sha256(p) in seen]


def child(script: str | Path, *args: str, env: dict[str, str] | None = None) -> tuple[Any, float, float]:
    """Run a bench script's child part (`python SCRIPT ARGS...`, which prints one JSON line last) in
    its own process: (that value, peak RSS in MB, wall seconds). A failure raises with its last lines."""
    status, mb, seconds, out, err = measure([sys.executable, str(script), *args], env)
    if status != 0:
        raise RuntimeError(f"child exited {status}: {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), mb, seconds


def as_child(measurement: Callable[[str], Any]) -> bool:
    """In a child (`SCRIPT --child ARG`): print measurement(ARG) as the last JSON line, return True."""
    if sys.argv[1:2] != ["--child"]:
        return False
    print(json.dumps(measurement(sys.argv[2])))
    return True


def in_children(script: str | Path, known: Sequence[str], only: str | None = None) -> dict[str, dict[str, Any]]:
    """`SCRIPT --child NAME` for each of `known` (or of the comma-separated `only`), each with its
    peak RSS; exits naming an unknown measurement or the one that failed."""
    results = {}
    for name in only.split(",") if only else known:
        if name not in known:
            sys.exit(f"--only: unknown measurement '{name}'; choose from {', '.join(known)}")
        try:
            value, mb, _ = child(script, "--child", name)
        except RuntimeError as error:
            sys.exit(f"{name} failed: {error}")
        results[name] = {**value, "peak_rss_mb": round(mb)}
    return results


def score(photo: str | Path, painting: str | Path, result: str | Path, size: int = SIZE) -> dict[str, float]:
    """The judge's style and content ratios and the hatching of one output, as `stylize eval` gives them."""
    from stylize_cli.evaluate import evaluate

    judged, = evaluate(photo, painting, [result], size=size, device="cpu")
    return {"style": judged.style, "content": judged.content, "hatching": judged.hatching,
            "style_layers": judged.style_layers}


def header() -> dict[str, str]:
    """What a JSON report starts with: the machine and the command that made it."""
    return {"machine": f"{platform.machine()}, {platform.processor() or '?'}, {os.cpu_count()} cores",
            "command": " ".join(["python", f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])}


def summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, median and worst decile (the mean of the worst tenth; lower is better for every figure)."""
    ordered = sorted(values)
    worst = ordered[-max(1, len(ordered) // 10):]
    return {"mean": statistics.mean(ordered), "median": statistics.median(ordered), "worst10": statistics.mean(worst)}


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, as bench/README.md keeps them."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def arguments(description: str, pairs: int | None = PAIRS, size: int = SIZE) -> argparse.ArgumentParser:
    """The options every bench takes: --json, and for a quality bench (pairs not None) --pairs, --size."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if pairs is not None:
        parser.add_argument("--pairs", type=int, default=pairs, help="the first N validation pairs")
        parser.add_argument("--size", type=int, default=size, help="long side of every output and of the judge")
    parser.add_argument("--json", type=Path, help="write every figure here")
    return parser


def write_json(path: Path | None, results: object) -> None:
    if path is not None:
        path.write_text(json.dumps(results, indent=1, default=str))
