"""Precision and memory layout on this processor: fp32 / bf16 / bf16 + channels-last, per network.

Four parts, each in child processes (so every peak memory is its own) and each compared as ratios
within one run:

- networks: adain, sanet and cin at 512 and 1024 px, in fp32 and bf16, each in the default memory
  layout and channels-last, seconds per photo (median of 3 after a
  warm-up), peak RSS, and the mean and max difference to fp32 (in /255);
- gatys: the same optimisation in fp32 and under bf16 autocast, on real pairs at 256 px: seconds,
  the judge's figures, and the final loss (does L-BFGS converge as well?);
- trainers: seconds for the same steps of train-decoder (adain and sanet) and train-style
  (vector and network) at `--precision fp32` and the default (auto);
- whole process: `stylize run` of a 1536 px adain photo at the default and at `--precision fp32`
  (round robin), with the mean difference and the judge on both outputs (at 512 px).

    STYLIZE_MIRROR=../shared/weights python bench/precision.py [--parts networks gatys trainers run]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from peak import measure  # noqa: E402

from stylize_cli.samples import PAINTING, PHOTOS, data_path  # noqa: E402 (the package under test)

IMAGES = ROOT.parent / "shared" / "images"
PHOTO = IMAGES / "content" / "avril.jpg"  # 1680x1050, the largest sample photo
GATYS_PAIRS = [("chicago.jpg", "woman_with_hat_matisse.jpg"), ("golden_gate.jpg", "the_resevoir_at_poitiers.jpg"),
               ("sailboat.jpg", "sketch.png"), ("cornell.jpg", "mondrian_cropped.jpg")]
#: (name, precision, memory layout) of each network row; fp32 in the default layout is the reference
LAYOUTS = [("fp32", "fp32", "contiguous"), ("fp32 + channels-last", "fp32", "cl"), ("bf16", "bf16", "contiguous"),
           ("bf16 + channels-last", "bf16", "cl")]

NETWORK_CHILD = r"""
import json, statistics, sys, time
import numpy as np, torch
import stylize_cli.devices as devices
method, precision, layout, size, photo, painting, out = sys.argv[1:]
if layout == "contiguous":  # what stylize did before channels-last
    devices.memory_format = lambda device: torch.contiguous_format
from stylize_cli import Stylizer
from stylize_cli.devices import use_all_cores
from stylize_cli.images import load_image
use_all_cores()
image = load_image(photo)
stylizer = Stylizer(painting, method=method, size=int(size), precision=precision, device="cpu")
stylizer(image)
times = []
for _ in range(3):
    start = time.perf_counter(); result = stylizer(image); times.append(time.perf_counter() - start)
np.save(out, np.asarray(result))
print(json.dumps({"seconds": statistics.median(times)}))
"""

GATYS_CHILD = r"""
import json, sys, time
import torch
from stylize_cli import Stylizer
from stylize_cli.devices import use_all_cores
from stylize_cli.images import load_image
from stylize_cli.losses import judge
from stylize_cli.models.vgg import load_vgg19
precision, photo, painting = sys.argv[1:]
use_all_cores()
events = []
stylizer = Stylizer(painting, method="gatys", size=256, device="cpu")
start = time.perf_counter()
with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
    out = stylizer(photo, progress=events.append)
seconds = time.perf_counter() - start
scores = judge(load_vgg19(), load_image(out).rgb, load_image(photo).rgb, load_image(painting).rgb)
print(json.dumps({"seconds": seconds, "final_loss": events[-1].losses["total"], **scores}))
"""


def networks(methods: list[str], sizes: list[int], work: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    photo = PHOTO if PHOTO.exists() else data_path(PHOTOS[0])
    for method in methods:
        for size in sizes:
            reference: np.ndarray | None = None
            for name, precision, layout in LAYOUTS:
                out = work / f"{method}_{size}_{precision}_{layout}.npy"
                code, peak, _, stdout, err = measure([sys.executable, "-c", NETWORK_CHILD, method, precision, layout,
                                                      str(size), str(photo), str(data_path(PAINTING)), str(out)])
                if code:
                    rows.append({"method": method, "size": size, "run": name, "error": err.strip()[-300:]})
                    continue
                pixels = np.load(out).astype(np.float64)
                reference = pixels if reference is None else reference
                rows.append({"method": method, "size": size, "run": name, **json.loads(stdout),
                             "peak_rss_mb": round(peak), "mean_diff": float(np.abs(pixels - reference).mean()),
                             "max_diff": float(np.abs(pixels - reference).max())})
    for row in rows:
        base = next(r for r in rows if r["method"] == row["method"] and r["size"] == row["size"]
                    and r["run"] == "fp32")
        if "seconds" in row and "seconds" in base:
            row["x_fp32"] = row["seconds"] / base["seconds"]  # type: ignore[operator]
    return rows


def gatys() -> list[dict[str, object]]:
    rows = []
    for photo, painting in GATYS_PAIRS:
        content, style = IMAGES / "content" / photo, IMAGES / "style" / painting
        if not (content.exists() and style.exists()):
            continue
        for precision in ("fp32", "bf16"):
            code, _, _, stdout, err = measure([sys.executable, "-c", GATYS_CHILD, precision, str(content), str(style)])
            rows.append({"pair": f"{photo} x {painting}", "precision": precision,
                         **(json.loads(stdout) if not code else {"error": err.strip()[-300:]})})
    return rows


def trainers(work: Path) -> list[dict[str, object]]:
    photos, paintings = work / "photos", work / "paintings"
    photos.mkdir(exist_ok=True)
    paintings.mkdir(exist_ok=True)
    for name in PHOTOS:
        (photos / name).write_bytes(data_path(name).read_bytes())
    for picture in [data_path(PAINTING), *sorted((IMAGES / "style").glob("*.jpg"))[:7]]:
        (paintings / picture.name).write_bytes(picture.read_bytes())
    runs = {
        "train-decoder adain, 12 steps, crop 128, batch 8": ["train-decoder", "--data-content", photos,
                                                              "--data-style", paintings, "--steps", "12",
                                                              "--crop", "128", "--batch", "8"],
        "train-decoder sanet, 6 steps, crop 128, batch 4": ["train-decoder", "--arch", "sanet", "--data-content",
                                                             photos, "--data-style", paintings, "--steps", "6",
                                                             "--crop", "128", "--batch", "4"],
        "train-style vector, 20 steps": ["train-style", data_path(PAINTING), "--steps", "20", "--force"],
        "train-style network, 20 steps": ["train-style", data_path(PAINTING), "--network", "--steps", "20",
                                          "--force"],
    }
    rows = []
    for name, args in runs.items():
        seconds = {}
        for precision in ("fp32", "auto"):
            extra = ["-o", str(work / f"{precision}.pt")] if args[0] == "train-decoder" else ["--name", "bench"]
            for leftover in work.glob(f"{precision}*"):
                leftover.unlink()
            env = {**os.environ, "STYLIZE_DATA": str(work / f"data_{precision}")}
            cmd = [sys.executable, "-m", "stylize_cli", *map(str, args), *extra, "--precision", precision,
                   "--device", "cpu", "-q"]
            code, _, wall, _, err = measure(cmd, env)
            seconds[precision] = wall if not code else float("nan")
            if code:
                print(f"{name} {precision}: {err.strip()[-300:]}", file=sys.stderr)
        rows.append({"trainer": name, "fp32_s": seconds["fp32"], "auto_s": seconds["auto"],
                     "x_fp32": seconds["auto"] / seconds["fp32"]})
    return rows


def whole_run(work: Path, repeat: int = 3) -> dict[str, object]:
    import torch

    from stylize_cli.images import fit, load_image
    from stylize_cli.losses import judge
    from stylize_cli.models.vgg import load_vgg19

    photo = PHOTO if PHOTO.exists() else data_path(PHOTOS[0])
    times: dict[str, list[float]] = {"auto": [], "fp32": []}
    for _ in range(repeat):  # round robin: a machine slowing down affects both alike
        for precision in times:
            cmd = [sys.executable, "-m", "stylize_cli", "run", str(photo), "-s", str(data_path(PAINTING)),
                   "--size", "1536", "--precision", precision, "-o", str(work / f"run_{precision}.png"), "-q"]
            code, _, wall, _, err = measure(cmd)
            if code:
                return {"error": err.strip()[-300:]}
            times[precision].append(wall)
    outputs = {p: load_image(work / f"run_{p}.png").rgb for p in times}
    vgg = load_vgg19()
    with torch.no_grad():  # at 512 px, the scale the judge's figures everywhere else are taken at
        scores = {p: judge(vgg, fit(outputs[p], 512), load_image(photo).rgb, load_image(data_path(PAINTING)).rgb)
                  for p in outputs}
    auto, fp32 = (statistics.median(times[p]) for p in ("auto", "fp32"))
    return {"auto_s": auto, "fp32_s": fp32, "x_fp32": auto / fp32,
            "mean_diff": float((outputs["auto"] - outputs["fp32"]).abs().mean() * 255),
            "judge_auto": scores["auto"], "judge_fp32": scores["fp32"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["networks", "gatys", "trainers", "run"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--methods", nargs="+", default=["adain", "sanet", "cin"], help="networks: which")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stylize-precision-"))
    report: dict[str, object] = {}
    if "networks" in args.parts:
        rows = report["networks"] = networks(args.methods, args.sizes, work)
        print(f"{'network':8} {'px':>5} {'run':22} {'seconds':>8} {'x fp32':>7} {'peak MB':>8} "
              f"{'mean/max diff (/255)':>21}")
        for r in rows:
            if "error" in r:
                print(f"{r['method']:8} {r['size']:5} {r['run']:22} error: {r['error']}")
                continue
            print(f"{r['method']:8} {r['size']:5} {r['run']:22} {r['seconds']:8.3f} {r.get('x_fp32', 1):7.2f} "
                  f"{r['peak_rss_mb']:8} {r['mean_diff']:10.3f} / {r['max_diff']:<6.0f}")
    if "gatys" in args.parts:
        rows = report["gatys"] = gatys()
        print(f"\n{'gatys, 256 px':52} {'precision':>9} {'seconds':>8} {'loss':>8} {'style':>6} {'content':>7}")
        for r in rows:
            if "error" in r:
                print(f"{r['pair']:52} {r['precision']:>9} error: {r['error']}")
                continue
            print(f"{r['pair']:52} {r['precision']:>9} {r['seconds']:8.1f} {r['final_loss']:8.4f} "
                  f"{r['style_ratio']:6.3f} {r['content_ratio']:7.3f}")
    if "trainers" in args.parts:
        rows = report["trainers"] = trainers(work)
        print(f"\n{'trainer':52} {'fp32 s':>7} {'auto s':>7} {'x fp32':>7}")
        for r in rows:
            print(f"{r['trainer']:52} {r['fp32_s']:7.1f} {r['auto_s']:7.1f} {r['x_fp32']:7.2f}")
    if "run" in args.parts:
        r = report["run"] = whole_run(work)
        if "error" in r:
            print(f"\nstylize run 1536 px: error: {r['error']}")
        else:
            print(f"\nstylize run, adain, 1536 px, whole process (median of 3): default {r['auto_s']:.1f} s, "
                  f"--precision fp32 {r['fp32_s']:.1f} s ({r['x_fp32']:.2f}x); mean difference "
                  f"{r['mean_diff']:.2f}/255; judge style/content {r['judge_auto']['style_ratio']:.4f}/"
                  f"{r['judge_auto']['content_ratio']:.4f} against {r['judge_fp32']['style_ratio']:.4f}/"
                  f"{r['judge_fp32']['content_ratio']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
