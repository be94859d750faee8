"""Batch throughput against naive loops, and the memory that --tile saves.

- batch: one `stylize run IN_DIR -o OUT_DIR` process over N real photos (512 px,
  cin, one style: predicted once, images decoded in background threads).
- naive-process: one `stylize run photo -o out` process per photo (a shell loop),
  timed on a subset and reported per image.
- naive-api: `stylize_cli.stylize()` per photo in one process: networks loaded and
  the style predicted again for every image.
- tile: peak RSS of stylizing a 4096x4096 picture whole vs with --tile 512.

The photos are the real images of ../shared/images/content, copied under N names.

    STYLIZE_MIRROR=../shared/weights python bench/batch.py [--images 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "images"
PAINTING = IMAGES / "style" / "the_resevoir_at_poitiers.jpg"
CLI = [sys.executable, "-m", "stylize_cli", "run"]


def make_inputs(folder: Path, count: int) -> list[Path]:
    sources = sorted((IMAGES / "content").glob("*"))
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        src = sources[i % len(sources)]
        paths.append(Path(shutil.copy(src, folder / f"{i:03d}_{src.name}")))
    return paths


def tile_peak(tile: int | None) -> float:
    code = ("import resource; from PIL import Image; from stylize_cli import Stylizer; "
            f"im = Image.open({str(IMAGES / 'content' / 'golden_gate.jpg')!r}).convert('RGB').resize((4096, 4096)); "
            f"Stylizer({str(PAINTING)!r}, method='cin', tile={tile!r}, device='cpu')(im); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--naive-images", type=int, default=8, help="subset timed for the naive loops")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = {**os.environ}
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(Path(tmp) / "in", args.images)
        start = time.perf_counter()
        subprocess.run([*CLI, str(Path(tmp) / "in"), "-s", str(PAINTING), "--method", "cin", "--size", "512",
                        "-o", str(Path(tmp) / "out"), "-q"], check=True, env=env)
        seconds = time.perf_counter() - start
        rows["batch"] = {"images": args.images, "seconds": seconds, "images_per_s": args.images / seconds}

        subset = inputs[: args.naive_images]
        start = time.perf_counter()
        for path in subset:
            subprocess.run([*CLI, str(path), "-s", str(PAINTING), "--method", "cin", "--size", "512",
                            "-o", str(Path(tmp) / "naive" / f"{path.stem}.jpg"), "-q"], check=True, env=env)
        seconds = time.perf_counter() - start
        rows["naive-process"] = {"images": len(subset), "seconds": seconds, "images_per_s": len(subset) / seconds}

        from stylize_cli import stylize

        stylize(subset[0], PAINTING, method="cin", size=512)  # warm the caches, as the batch run had them
        start = time.perf_counter()
        for path in subset:
            stylize(path, PAINTING, method="cin", size=512).save(Path(tmp) / f"api_{path.stem}.jpg")
        seconds = time.perf_counter() - start
        rows["naive-api"] = {"images": len(subset), "seconds": seconds, "images_per_s": len(subset) / seconds}
    whole, tiled = tile_peak(None), tile_peak(512)
    print(f"{'run':<14} {'images':>6} {'seconds':>8} {'images/s':>9} {'batch speed-up':>15}")
    for name, row in rows.items():
        ratio = rows["batch"]["images_per_s"] / row["images_per_s"]
        print(f"{name:<14} {row['images']:>6.0f} {row['seconds']:>8.1f} {row['images_per_s']:>9.2f} {ratio:>14.1f}x")
    print(f"4096x4096 cin peak RSS: whole {whole:.0f} MB, --tile 512 {tiled:.0f} MB ({whole / tiled:.1f}x less)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "tile_peak_rss_mb": {"whole": whole, "tile512": tiled}},
                                        indent=2))


if __name__ == "__main__":
    main()
