"""CIN speed, memory and what train-style buys: prints a table, optionally writes JSON.

Each measurement runs in its own process so its peak RSS is its own.
- predict: seconds for the style predictor on one painting (256x256 input)
- apply N: seconds per image at long side N, the style predicted once and reused
- train: train-style seconds per step at 256 px, the time until the (10-step
  moving average of the) style loss is within 10% of its final value, and the
  judge's style ratio at 512 px on unseen photos, predicted vector vs trained.

    STYLIZE_MIRROR=../shared/weights python bench/cin.py [--steps 150] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "images"
PAINTING = IMAGES / "style" / "the_resevoir_at_poitiers.jpg"
UNSEEN = ["golden_gate.jpg", "cornell.jpg", "chicago.jpg"]


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(what: str, device: str, steps: int) -> dict[str, object]:
    from stylize_cli import Stylizer
    from stylize_cli.images import load_image

    painting = load_image(PAINTING).rgb
    photo = load_image(IMAGES / "content" / "chicago.jpg")
    if what == "predict":
        stylizer = Stylizer(PAINTING, method="cin", device=device)
        return {"seconds": timed(lambda: stylizer.method.predict(painting), 5)}  # type: ignore[attr-defined]
    if what.startswith("apply"):
        size = int(what[5:])
        stylizer = Stylizer(PAINTING, method="cin", size=size, device=device)
        return {"seconds": timed(lambda: stylizer(photo), 5)}
    return train(device, steps, painting)


def train(device: str, steps: int, painting) -> dict[str, object]:  # type: ignore[no-untyped-def]
    import tempfile

    from network import converged  # bench/network.py, beside this script

    from stylize_cli import stylize
    from stylize_cli.devices import pick_device
    from stylize_cli.images import load_image
    from stylize_cli.losses import judge
    from stylize_cli.models.vgg import load_vgg19
    from stylize_cli.styles import Style
    from stylize_cli.train.style import TrainStyleConfig, load_photos, train_style

    config = TrainStyleConfig(steps=steps)
    stamps: list[float] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = train_style(painting, load_photos(None, config, print), config, pick_device(device),
                             Path(tmp) / "ck.pt", progress=lambda e: stamps.append(time.perf_counter()))
    per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    losses = [h["style"] for h in result.record.history]
    reach = converged(losses)
    vgg = load_vgg19()
    trained = Style("bench", result.vector.tolist())
    ratios: dict[str, list[float]] = {"predicted": [], "trained": []}
    for name in UNSEEN:
        photo = load_image(IMAGES / "content" / name).rgb
        for label, style in (("predicted", PAINTING), ("trained", trained)):
            out = load_image(stylize(IMAGES / "content" / name, style, method="cin", size=512)).rgb
            ratios[label].append(judge(vgg, out, photo, painting)["style_ratio"])
    return {"s_per_step": per_step, "steps_to_within_10pct": reach, "seconds_to_within_10pct": reach * per_step,
            "total_seconds": time.perf_counter() - start,
            "style_ratio_predicted": statistics.fmean(ratios["predicted"]),
            "style_ratio_trained": statistics.fmean(ratios["trained"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--only", nargs="+", default=["predict", "apply512", "apply1024", "train"])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        row = measure(args.one, args.device, args.steps)
        row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(row))
        return
    rows = {}
    for what in args.only:
        out = subprocess.run([sys.executable, __file__, "--one", what, "--device", args.device,
                              "--steps", str(args.steps)], check=True, capture_output=True, text=True).stdout
        rows[what] = json.loads(out.strip().splitlines()[-1])
    import torch

    print(f"CIN on {args.device}, {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'measure':<12} {'seconds':>9} {'peak RSS MB':>12}")
    for what, row in rows.items():
        seconds = row.get("seconds", row.get("s_per_step"))
        label = "train/step" if what == "train" else what
        print(f"{label:<12} {seconds:>9.3f} {row['peak_rss_mb']:>12.0f}")
    if "train" in rows:
        t = rows["train"]
        print(f"train-style: style loss within 10% of its final value after {t['steps_to_within_10pct']} steps "
              f"({t['seconds_to_within_10pct']:.0f} s); judge style ratio at 512 px on {len(UNSEEN)} unseen "
              f"photos: predicted {t['style_ratio_predicted']:.3f} -> trained {t['style_ratio_trained']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
