"""A residual loss network for gatys: VGG-19 vs MobileNet-v2 without and with SWAG (Wang et al. 2021).

- quality: the judge (VGG-19, so a cross-network check) on the first --pairs validation pairs at each --sizes, for
  vgg19, mobilenet and mobilenet+swag with the same schedule (L-BFGS iterations from --start-size,
  half at each finer scale), each network's other defaults; seconds for the whole optimisation,
  as a ratio to vgg19's, and peak RSS (each run in its own process).
- peakiness: the paper's diagnosis, per layer (VGG-19's style layers, every MobileNet stage) on
  the pairs' paintings: the Gram matrix normalised to sum 1 (absolute values), its maximum and its
  entropy over log(number of entries), without and with the softmax; and the softmax's entropy.

    STYLIZE_MIRROR=../shared/weights python bench/swag.py [--sizes 256 512] [--pairs 8]
        [--iterations 100] [--start-size 128] [--save DIR] [--json out.json]
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import arguments, as_child, child, score, validation_pairs, write_json

CONFIGS = {"vgg19": {"loss_net": "vgg19"}, "mobilenet": {"loss_net": "mobilenet", "swag": False},
           "mobilenet+swag": {"loss_net": "mobilenet", "swag": True}}


def one(name: str, size: int, iterations: int, start: int, content: str, style: str,
        save: str | None) -> dict[str, object]:
    from stylize_cli import Stylizer
    from stylize_cli.errors import StylizeError

    pair = f"{Path(content).name} x {Path(style).name}"
    stylizer = Stylizer(style, method="gatys", size=size, start_size=start, iterations=iterations,
                        device="cpu", **CONFIGS[name])
    began = time.perf_counter()
    try:
        out = stylizer(content)
    except StylizeError as error:  # the optimisation ran away (SWAG does): a row, not a crash
        return {"config": name, "size": size, "pair": pair, "diverged": str(error)}
    seconds = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="stylize-swag-") as scratch:  # kept only with --save
        target = Path(save or scratch) / f"{name}_{size}_{Path(content).stem}_{Path(style).stem}.png"
        out.save(target)
        scores = score(content, style, target, size)
    return {"config": name, "size": size, "pair": pair, **scores, "seconds": seconds}


def peakiness(pairs: list[tuple[Path, Path]]) -> list[dict[str, object]]:
    import torch

    from stylize_cli import ops
    from stylize_cli.images import fit, load_image
    from stylize_cli.layers import GRAM_STYLE_LAYERS, MOBILENET_LAYERS
    from stylize_cli.models.mobilenet import load_mobilenet
    from stylize_cli.models.vgg import load_vgg19

    def stats(gram: torch.Tensor) -> tuple[float, float]:
        p = gram.abs().flatten() / gram.abs().sum()
        return float(p.max()), float(-(p * p.clamp_min(1e-30).log()).sum() / math.log(p.numel()))

    rows = []
    for net_name, net, layers in (("vgg19", load_vgg19(), GRAM_STYLE_LAYERS),
                                  ("mobilenet", load_mobilenet(), MOBILENET_LAYERS[1:])):  # not "rgb"
        values: dict[str, list[tuple[float, ...]]] = {k: [] for k in layers}
        for _, style in pairs:
            feats = net(fit(load_image(style).rgb, 256), layers)
            for k in layers:
                smooth = ops.swag(feats[k])
                p = smooth.flatten()
                softmax_entropy = float(-(p * p.clamp_min(1e-30).log()).sum() / math.log(p.numel()))
                values[k].append((*stats(ops.gram(feats[k])), *stats(ops.gram(smooth)), softmax_entropy))
        for k, v in values.items():
            mean = [statistics.mean(x[i] for x in v) for i in range(5)]
            rows.append({"net": net_name, "layer": k, "gram_max": mean[0], "gram_entropy": mean[1],
                         "swag_gram_max": mean[2], "swag_gram_entropy": mean[3], "softmax_entropy": mean[4]})
    return rows


def main() -> None:
    if as_child(lambda payload: one(*json.loads(payload))):
        return
    parser = arguments(__doc__, pairs=8)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--start-size", type=int, default=128)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--save", help="write every output image into this folder")
    args = parser.parse_args()
    pairs = validation_pairs(args.pairs)
    runs = []
    for size in args.sizes:
        for content, style in pairs:
            for name in args.configs:
                payload = [name, size, args.iterations, args.start_size, str(content), str(style), args.save]
                row, mb, _ = child(__file__, "--child", json.dumps(payload))
                runs.append({**row, "peak_rss_mb": mb})
                r = runs[-1]
                print(f"  {size} px {r['pair']:50} {name:15} " + (r["diverged"] if "diverged" in r else
                      f"style {r['style']:.3f} content {r['content']:.3f} {r['seconds']:.1f} s"),
                      file=sys.stderr)
    print(f"\ngatys, {args.iterations} L-BFGS iterations from {args.start_size} px (half at each finer scale), "
          f"mean over {len(pairs)} pairs (judge on VGG-19; lower is better) but those that diverged to NaN")
    print(f"{'size':>5} {'loss network':16} {'style':>7} {'content':>8} {'seconds':>8} {'x vgg19':>8} {'peak MB':>8} "
          f"{'diverged':>9}")
    table = []
    for size in args.sizes:
        vgg_time = statistics.mean(r["seconds"] for r in runs if r["size"] == size and r["config"] == "vgg19") \
            if "vgg19" in args.configs else float("nan")
        for name in args.configs:
            both = [r for r in runs if r["size"] == size and r["config"] == name]
            mine = [r for r in both if "diverged" not in r]
            row = {"size": size, "config": name, "diverged": len(both) - len(mine),
                   **{k: statistics.mean(r[k] for r in mine) if mine else math.nan
                      for k in ("style", "content", "seconds", "peak_rss_mb")}}
            row["time_vs_vgg19"] = row["seconds"] / vgg_time
            table.append(row)
            print(f"{size:>5} {name:16} {row['style']:7.3f} {row['content']:8.3f} "
                  f"{row['seconds']:8.1f} {row['time_vs_vgg19']:8.2f} {row['peak_rss_mb']:8.0f} "
                  f"{row['diverged']:>5}/{len(pairs)}")
    peaks = peakiness(pairs)
    print("\npeakiness of each layer's Gram matrices on the paintings (normalised to sum 1; mean over "
          "paintings): maximum and entropy / log(entries), without and with SWAG; and the softmax's own "
          "entropy / log(activations)")
    print(f"{'net':10} {'layer':11} {'max':>8} {'entropy':>8} {'swag max':>9} {'swag ent':>9} {'softmax ent':>12}")
    for p in peaks:
        print(f"{p['net']:10} {p['layer']:11} {p['gram_max']:8.4f} {p['gram_entropy']:8.3f} "
              f"{p['swag_gram_max']:9.4f} {p['swag_gram_entropy']:9.3f} {p['softmax_entropy']:12.3f}")
    write_json(args.json, {"iterations": args.iterations, "runs": runs, "table": table, "peakiness": peaks})


if __name__ == "__main__":
    main()
