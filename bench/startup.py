"""Start-up cost of the command line, as ratios to `python -c "import torch"` measured in the same run.

- help / styles list / weights list: commands that compute nothing must not import torch
  (target: at most 0.25x the torch import).
- run cin / run adain: one photo at 512 px as a whole process, and inside one process the
  stages (imports, networks, style, transfer, save), so that what comes on top of the torch
  import is visible (target for cin: at most 0.3 s above it).

Each command runs `--repeat` times, round robin (after one warm-up that also fills the
weights cache); the table shows medians.

    STYLIZE_MIRROR=../shared/weights python bench/startup.py [--repeat 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from stylize_cli.samples import PAINTING, PHOTOS, data_path  # noqa: E402 (the package under test, not installed)

PHOTO, STYLE = data_path(PHOTOS[0]), data_path(PAINTING)
CLI = [sys.executable, "-m", "stylize_cli"]

#: Run inside one child process: the time of each stage of `stylize run` for one photo.
STAGES = r"""
import sys, time, json
t = [time.perf_counter()]
import torch; t.append(time.perf_counter())
from stylize_cli.cli import cli
from stylize_cli.api import Stylizer
from stylize_cli.images import load_image, save_image
t.append(time.perf_counter())
method, photo, style, out = sys.argv[1:5]
stylizer = Stylizer(style, method=method, size=512, device="cpu"); t.append(time.perf_counter())
image = load_image(photo); stylizer.prepare(stylizer.working(image.rgb)); t.append(time.perf_counter())
result = stylizer(image); t.append(time.perf_counter())
save_image(result, out); t.append(time.perf_counter())
names = ["import torch", "import stylize", "build networks", "prepare style", "stylize", "save"]
print(json.dumps({n: b - a for n, a, b in zip(names, t, t[1:])}))
"""


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def imports_torch(args: list[str], env: dict[str, str]) -> bool:
    code = ("import sys; from stylize_cli.cli import cli\n"
            f"try:\n    cli({args!r})\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stderr.strip().splitlines()[-1] == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stylize-startup-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "STYLIZE_CACHE": str(work / "cache"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
    env = {k: v for k, v in env.items() if v}
    commands = {'python -c "import torch"': [sys.executable, "-c", "import torch"],
                "stylize --help": [*CLI, "--help"], "stylize styles list": [*CLI, "styles", "list"],
                "stylize weights list": [*CLI, "weights", "list"]}
    for method in ("adain", "cin"):
        cmd = [*CLI, "run", str(PHOTO), "-s", str(STYLE), "-m", method, "--size", "512", "-q",
               "-o", str(work / f"{method}.jpg")]
        try:
            subprocess.run(cmd, check=True, capture_output=True, env=env)  # warm-up; fetches cin's weights
        except subprocess.CalledProcessError as exc:
            print(f"skipping {method}: {exc.stderr.decode().strip()}", file=sys.stderr)
            continue
        commands[f"stylize run ({method}, 512 px)"] = cmd
    # Round robin, so that a machine slowing down or speeding up affects every command alike.
    times: dict[str, list[float]] = {name: [] for name in commands}
    stage_runs: dict[str, list[dict[str, float]]] = {m: [] for m in ("adain", "cin") if f"stylize run ({m}, 512 px)"
                                                      in commands}
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            times[name].append(wall(cmd, env))
        for method, runs in stage_runs.items():
            out = subprocess.run([sys.executable, "-c", STAGES, method, str(PHOTO), str(STYLE), str(work / "s.jpg")],
                                 check=True, capture_output=True, text=True, env=env).stdout
            runs.append(json.loads(out))
    torch_s = statistics.median(times['python -c "import torch"'])
    rows: list[dict[str, object]] = []
    for name, cmd in commands.items():
        median = statistics.median(times[name])
        row: dict[str, object] = {"command": name, "seconds": median, "ratio": median / torch_s}
        if name.startswith("stylize run"):
            row["above torch"] = median - torch_s
        elif name.startswith("stylize"):
            row["imports torch"] = imports_torch(cmd[len(CLI):], env)
        rows.append(row)
    stages = {m: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for m, runs in stage_runs.items()}

    print(f"{'command':32} {'seconds':>8} {'x torch':>8}  notes")
    for row in rows:
        notes = []
        if "imports torch" in row:
            notes.append("imports torch" if row["imports torch"] else "no torch")
        if "above torch" in row:
            notes.append(f"{row['above torch']:+.2f} s above the torch import")
        print(f"{row['command']:32} {row['seconds']:8.3f} {row['ratio']:8.2f}  {', '.join(notes)}")
    for method, times in stages.items():
        print(f"\nstages of one {method} photo at 512 px, in one process (median seconds):")
        for name, seconds in times.items():
            print(f"  {name:16} {seconds:7.3f}")
        print(f"  {'above torch':16} {sum(times.values()) - times['import torch']:7.3f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "stages": stages}, indent=1))


if __name__ == "__main__":
    main()
