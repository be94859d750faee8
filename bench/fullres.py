"""Full-resolution photos: seconds and peak memory by megapixels, tiled against one pass.

Each run is `stylize run` in its own process (peak RSS from the kernel), on a real photo
enlarged to 3:2 sizes of 3 to 24 megapixels. adain tiles with a halo, so its tiles should
give the one-pass picture exactly: PSNR to the untiled run where that fits in memory.
Seams: the mean jump between neighbouring columns and rows across tile borders, against
the jump everywhere else (a seam shows as a ratio above 1).

    STYLIZE_MIRROR=../shared/weights python bench/fullres.py [--mpx 3 6 12 24]
        [--untiled-max 12] [--methods adain cin] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from peak import measure  # noqa: E402

from stylize_cli.methods.configs import ADAIN_TILE, CIN_TILE  # noqa: E402 (the package under test)
from stylize_cli.samples import PAINTING, data_path  # noqa: E402
from stylize_cli.tiles import starts  # noqa: E402

PHOTO = ROOT.parent / "shared" / "images" / "content" / "avril.jpg"  # the largest sample photo, 1680x1050
ONE_PASS = 100_000  #: a tile larger than any picture: the networks see it whole


def photo_of(mpx: float, folder: Path) -> Path:
    source = PHOTO if PHOTO.exists() else data_path("chelsea.png")
    path = folder / f"photo_{mpx:g}mpx.png"
    if not path.exists():
        h = int((mpx * 1e6 / 1.5) ** 0.5) // 8 * 8
        w = int(h * 1.5) // 8 * 8
        im = Image.open(source).convert("RGB")
        crop_h = int(im.width / 1.5)
        if crop_h <= im.height:
            im = im.crop((0, (im.height - crop_h) // 2, im.width, (im.height - crop_h) // 2 + crop_h))
        im.resize((w, h), Image.Resampling.BICUBIC).save(path)
    return path


def one(method: str, photo: Path, tile: int | None, out: Path) -> dict[str, object]:
    cmd = [sys.executable, "-m", "stylize_cli", "run", str(photo), "-s", str(data_path(PAINTING)), "-m", method,
           "-o", str(out), "-q", "--device", "cpu"] + (["--tile", str(tile)] if tile else [])
    code, peak_mb, seconds, _, err = measure(cmd)
    if code:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {code}"}
    return {"seconds": seconds, "peak_rss_mb": peak_mb}


def seams(path: Path, method: str, tile: int) -> float:
    """Mean jump across tile borders over the mean jump between other neighbours (1 = no seam).
    adain's tiles meet at multiples of the tile; cin's overlap by tile/8 and are feathered, so
    both edges of each overlap count."""
    a = np.asarray(Image.open(path), np.float64)
    ratios = []
    for axis in (0, 1):
        jumps = np.abs(np.diff(a, axis=axis)).mean(axis=(1 - axis, 2))
        if method == "adain":
            borders = np.arange(tile - 1, len(jumps), tile)
        else:
            overlap = tile // 8
            origins = starts(len(jumps) + 1, tile, overlap)[1:]
            borders = np.array(sorted({x - 1 for x in origins} | {x + overlap - 1 for x in origins}), dtype=int)
        others = np.setdiff1d(np.arange(len(jumps)), borders)
        if len(borders):
            ratios.append(jumps[borders].mean() / jumps[others].mean())
    return float(np.mean(ratios)) if ratios else float("nan")


def psnr(a: Path, b: Path) -> float:
    x, y = (np.asarray(Image.open(p), np.float64) for p in (a, b))
    mse = ((x - y) ** 2).mean()
    return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))


def _cell(run: dict, key: str, spec: str) -> str:
    return format(run[key], spec) if run.get(key) is not None else str(run.get("error", "-"))[:8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpx", type=float, nargs="+", default=[3, 6, 12, 24])
    parser.add_argument("--untiled-max", type=float, default=12, help="largest size run in one pass too")
    parser.add_argument("--methods", nargs="+", default=["adain", "cin"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stylize-fullres-"))
    rows = []
    for method in args.methods:
        tile = ADAIN_TILE if method == "adain" else CIN_TILE
        for mpx in args.mpx:
            photo = photo_of(mpx, work)
            tiled = work / f"{method}_{mpx:g}_tiled.png"
            row: dict[str, object] = {"method": method, "mpx": mpx, "size": "x".join(map(str, Image.open(photo).size)),
                                      "tiled": one(method, photo, tile, tiled)}
            if "error" not in row["tiled"]:  # type: ignore[operator]
                row["seams"] = seams(tiled, method, tile)
            if mpx <= args.untiled_max:
                whole = work / f"{method}_{mpx:g}_whole.png"
                row["one_pass"] = one(method, photo, ONE_PASS, whole)
                if whole.exists() and tiled.exists():
                    row["psnr_tiled_vs_one_pass"] = psnr(tiled, whole)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    print(f"{'method':6} {'Mpx':>4} {'size':>10} {'tiled s':>8} {'s/Mpx':>6} {'peak MB':>8} {'seams':>6} "
          f"{'1-pass s':>8} {'peak MB':>8} {'PSNR dB':>8}")
    for r in rows:
        t, w = r["tiled"], r.get("one_pass", {})
        per_mpx = t["seconds"] / r["mpx"] if "seconds" in t else float("nan")
        print(f"{r['method']:6} {r['mpx']:4g} {r['size']:>10} {_cell(t, 'seconds', '8.1f'):>8} {per_mpx:6.1f} "
              f"{_cell(t, 'peak_rss_mb', '8.0f'):>8} {r.get('seams', float('nan')):6.3f} "
              f"{_cell(w, 'seconds', '8.1f'):>8} {_cell(w, 'peak_rss_mb', '8.0f'):>8} "
              f"{r.get('psnr_tiled_vs_one_pass', float('nan')):8.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT / "src"))
    main()
