"""Gatys optimization speed and memory: seconds per iteration and peak RSS by size.

Each size runs in its own process so its peak RSS is its own. The coarse-to-fine
saving is computed from the per-iteration times measured in this same run:
a 1024 px result with I iterations costs I·t256 + I/2·t512 + I/4·t1024,
against I·t1024 when optimizing at 1024 px from the start.

    python bench/gatys.py [--sizes 256 512 1024] [--iterations 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT.parent / "shared" / "images" / "content" / "chicago.jpg"
STYLE = ROOT.parent / "shared" / "images" / "style" / "woman_with_hat_matisse.jpg"


def one(size: int, iterations: int, device: str, optimizer: str) -> dict[str, float]:
    """Time `iterations` steps at a single scale, after one warm-up step."""
    from stylize_cli import Stylizer

    times: list[float] = []
    stylizer = Stylizer(STYLE, size=size, start_size=size, iterations=iterations + 1,
                        device=device, optimizer=optimizer)
    stylizer(CONTENT, progress=lambda event: times.append(time.perf_counter()))
    per_iteration = (times[-1] - times[0]) / (len(times) - 1)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"size": size, "s_per_iteration": per_iteration, "peak_rss_mb": peak_kb / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.iterations, args.device, args.optimizer)))
        return
    rows = []
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--iterations", str(args.iterations),
                              "--device", args.device, "--optimizer", args.optimizer],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    import torch

    print(f"Gatys ({args.optimizer}) on {args.device}, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; image long side = size")
    print(f"{'size':>6} {'s/iteration':>12} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['size']:>6} {row['s_per_iteration']:>12.3f} {row['peak_rss_mb']:>12.0f}")
    t = {row["size"]: row["s_per_iteration"] for row in rows}
    result: dict[str, object] = {"rows": rows, "device": args.device, "optimizer": args.optimizer}
    if {256, 512, 1024} <= set(t):
        ratio = (t[256] + t[512] / 2 + t[1024] / 4) / t[1024]
        result["coarse_to_fine_over_direct_1024"] = ratio
        print(f"1024 px coarse-to-fine (256→512→1024, I, I/2, I/4 steps) costs {ratio:.2f}x "
              "the direct 1024 px optimization with I steps")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
