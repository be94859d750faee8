"""Per-style networks (train-style --network) against vectors: the judge, training cost, speed.

- gallery: every built-in network style, its vector against its network, the judge's
  ratios at 512 px on the validation set's photos (bench/harness.py; no style was trained on them).
- train: each --painting (paintings of the validation set, in no built-in style), learned with
  train-style's defaults as a vector and as a network on the sample photos: seconds per
  step at 256 px crops, steps until the 10-step moving average of the style loss is
  within 10% of its final value, total seconds, and the judge as above for the
  predicted vector, the learned vector, the network and (--same-time) the vector trained for as
  long as the network. The network's default holds where its mean content ratio is within 0.05
  of the learned vector's.
- speed: seconds per image at 512 and 1024 px, a vector style against a network style.

    STYLIZE_MIRROR=../shared/weights python bench/network.py [--only gallery train speed]
        [--painting FILE ...] [--json out.json]
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from harness import IMAGES, arguments, score, validation_pairs, write_json

from stylize_cli import Stylizer
from stylize_cli.devices import pick_device, use_all_cores
from stylize_cli.images import load_image
from stylize_cli.styles import Style, all_styles
from stylize_cli.train.style import load_photos, style_config, train_style

SOURCES = IMAGES / "style"
#: the validation set's photos: no style, built-in or trained here, has seen them
PHOTOS = list(dict.fromkeys(photo for photo, _ in validation_pairs()))
#: paintings of the validation set in no built-in style
PAINTINGS = [SOURCES / name for name in ("la_muse.jpg", "picasso_seated_nude_hr.jpg", "scene_de_rue.jpg")]


def judged(style: Style | Path, painting: Path, device: str) -> dict[str, float]:
    """Mean judge ratios at 512 px over PHOTOS."""
    stylizer = Stylizer(style, method="cin", size=512, device=device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for photo in PHOTOS:
            out = Path(tmp) / f"{photo.stem}.png"
            stylizer(photo).save(out)
            rows.append(score(photo, painting, out))
    return {k: round(statistics.fmean(r[k] for r in rows), 4) for k in ("style", "content")}


def as_vector(style: Style) -> Style:
    return Style(style.name, style.vector, source=style.source)


def gallery(device: str) -> list[dict[str, Any]]:
    rows = []
    for style in (s for s in all_styles() if s.kind == "network" and s.origin == "built-in"):
        painting = SOURCES / style.source.split(":")[0].split(",")[0]
        vector, network = judged(as_vector(style), painting, device), judged(style, painting, device)
        rows.append({"style": style.name, "vector": vector, "network": network})
        print(f"{style.name:<20} vector {vector['style']:.3f} / {vector['content']:.3f}   "
              f"network {network['style']:.3f} / {network['content']:.3f}", flush=True)
    return rows


def converged(losses: list[float]) -> int:
    """Steps until the 10-step moving average is within 10% of its final value."""
    smooth = [statistics.fmean(losses[max(0, i - 9):i + 1]) for i in range(len(losses))]
    return next(i for i, v in enumerate(smooth) if v <= 1.1 * smooth[-1]) + 1


def trained(painting_file: Path, device: str, same_time: bool) -> dict[str, Any]:
    painting = load_image(painting_file).rgb
    dev = pick_device(device)
    row: dict[str, Any] = {"painting": painting_file.name}
    runs: dict[str, Style] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, config in (("network", style_config(network=True)), ("vector", style_config())):
            stamps: list[float] = []
            start = time.perf_counter()
            result = train_style(painting, load_photos(None, config, print), config, dev, Path(tmp) / f"{label}.pt",
                                 progress=lambda e, stamps=stamps: stamps.append(time.perf_counter()))
            seconds[label] = time.perf_counter() - start
            style = Style(label, result.vector.tolist(), source=painting_file.name)
            if result.network is not None:
                style.save(Path(tmp) / f"{label}.json", network=result.network.to_bytes())
            runs[label] = style
            losses = [h["style"] for h in result.record.history]
            row[label] = {"steps": config.steps, "seconds": round(seconds[label], 1),
                          "s_per_step": round((stamps[-1] - stamps[0]) / (len(stamps) - 1), 3),
                          "steps_to_within_10pct": converged(losses)}
        if same_time:  # the vector given the network's time: as many steps as fit in it
            steps = style_config().steps
            same = style_config(steps=round(steps * seconds["network"] / seconds["vector"]))
            result = train_style(painting, load_photos(None, same, print), same, dev, Path(tmp) / "same.pt")
            runs["vector, same time"] = Style("same", result.vector.tolist())
            row["vector, same time"] = {"steps": same.steps}
        row["judge"] = {"predicted": judged(painting_file, painting_file, device),
                        **{label: judged(style, painting_file, device) for label, style in runs.items()}}
    return row


def speed(device: str) -> dict[str, Any]:
    network = next((s for s in all_styles() if s.kind == "network"), None)
    if network is None:
        return {}
    photo = load_image(PHOTOS[0])
    row = {}
    for size in (512, 1024):
        for label, style in (("vector", as_vector(network)), ("network", network)):
            stylizer = Stylizer(style, method="cin", size=size, device=device)
            stylizer(photo)  # warm-up
            times = []
            for _ in range(5):
                start = time.perf_counter()
                stylizer(photo)
                times.append(time.perf_counter() - start)
            row[f"{label} {size}"] = round(statistics.median(times), 3)
    return {"style": network.name, **row}


def main() -> None:
    parser = arguments(__doc__, pairs=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--painting", type=Path, nargs="+", default=PAINTINGS)
    parser.add_argument("--same-time", action="store_true", help="train: also a vector given the network's time")
    parser.add_argument("--only", nargs="+", default=["gallery", "train", "speed"],
                        choices=["gallery", "train", "speed"])
    args = parser.parse_args()
    use_all_cores()
    print(f"on {args.device}, {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"judge at 512 px, mean over the {len(PHOTOS)} validation photos (style / content ratio, lower is better)")
    results: dict[str, Any] = {}
    if "gallery" in args.only:
        results["gallery"] = gallery(args.device)
    if "train" in args.only:
        results["train"] = [trained(painting, args.device, args.same_time) for painting in args.painting]
        for t in results["train"]:
            print(f"\ntrain-style on {t['painting']} (sample photos, 256 px crops):")
            print(f"{'':<20} {'steps':>6} {'s/step':>7} {'seconds':>8} {'to 10%':>7}")
            for label in ("vector", "network"):
                r = t[label]
                print(f"{label:<20} {r['steps']:>6} {r['s_per_step']:>7.2f} {r['seconds']:>8.0f} "
                      f"{r['steps_to_within_10pct']:>7}")
            print(f"\n{'judge':<32} {'style':>7} {'content':>8}")
            for label, r in t["judge"].items():
                steps = f" ({t[label]['steps']} steps)" if label in t else ""
                print(f"{label + steps:<32} {r['style']:>7.3f} {r['content']:>8.3f}")
        gap = statistics.fmean(t["judge"]["network"]["content"] - t["judge"]["vector"]["content"]
                               for t in results["train"])
        print(f"\nnetwork's content ratio minus the vector's, mean over {len(args.painting)} paintings: {gap:+.3f} "
              "(the default holds at +0.05 or less)")
    if "speed" in args.only:
        s = results["speed"] = speed(args.device)
        if s:
            print(f"\nseconds per image ({s['style']}): " + ", ".join(f"{k} px {v:.3f}" for k, v in s.items()
                                                                  if k != "style"))
    write_json(args.json, results)


if __name__ == "__main__":
    main()
