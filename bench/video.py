"""`stylize video`: frames per second, peak memory, and flicker, frame by frame against stabilised.

The clips are camera moves over a real photo (`tests/clips.py`: a pan by whole pixels,
a zoom of 1% a frame) with a sine tone, so the true optical flow is known and the warping
error of Lai et al. (ECCV 2018) is exact: the mean squared difference between each output
frame and the previous one warped by the true flow, over pixels visible in both (lower is
steadier; a still photo stylized twice identically would give 0). Each run is its own
process (peak RSS from the kernel); frames/s counts decoding, stylizing, stabilising and
encoding, not the start-up.

    STYLIZE_MIRROR=../shared/weights python bench/video.py [--sizes 480 720] [--frames 24]
        [--methods adain cin] [--motions pan zoom] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from peak import measure  # noqa: E402

from stylize_cli import temporal  # noqa: E402 (the package under test)
from stylize_cli.samples import PAINTING, data_path  # noqa: E402
from tests import clips  # noqa: E402 (test clips with known motion; not part of the package)

PHOTO = ROOT.parent / "shared" / "images" / "content" / "avril.jpg"  # the largest sample photo, 1680x1050

CHILD = r"""
import json, sys
from stylize_cli import Stylizer
from stylize_cli.video import stylize_video
source, target, style, method, stabilize, device = sys.argv[1:7]
stylizer = Stylizer(style, method=method, device=device)
result = stylize_video(source, target, stylizer, stabilize=stabilize == "1")
print(json.dumps({"frames": result.frames, "seconds": result.seconds}))
"""


def run(source: Path, target: Path, method: str, stabilize: bool, device: str) -> dict[str, float]:
    code, peak_mb, _, out, err = measure([sys.executable, "-c", CHILD, str(source), str(target),
                                          str(data_path(PAINTING)), method, "1" if stabilize else "0", device])
    if code:
        raise SystemExit(err or f"the child failed ({code})")
    result = json.loads(out)
    return {"fps": result["frames"] / result["seconds"], "peak_rss_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[480, 720], help="frame heights (16:9)")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--methods", nargs="+", default=["adain", "cin"])
    parser.add_argument("--motions", nargs="+", default=["pan", "zoom"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    photo = Image.open(PHOTO if PHOTO.exists() else data_path("chelsea.png"))
    work = Path(tempfile.mkdtemp(prefix="stylize-video-"))
    rows = []
    for height in args.sizes:
        size = (height * 16 // 9 // 2 * 2, height)
        for motion in args.motions:
            clip = clips.camera_move(photo, motion, args.frames, size)
            source = work / f"{motion}_{height}.mp4"
            clips.write_clip(source, clip.frames)
            for method in args.methods:
                row: dict[str, object] = {"size": f"{size[0]}x{size[1]}", "motion": motion, "method": method}
                for stabilize in (False, True):
                    target = work / f"{motion}_{height}_{method}_{int(stabilize)}.mp4"
                    measured = run(source, target, method, stabilize, args.device)
                    frames = [f.astype(np.float32) / 255 for f in clips.read_frames(target)]
                    measured["warping_error"] = temporal.warping_error(frames, clip.flows, clip.masks)
                    row["stabilised" if stabilize else "frame_by_frame"] = measured
                row["ratio"] = row["stabilised"]["warping_error"] / row["frame_by_frame"]["warping_error"]  # type: ignore[index]
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)

    print(f"{'size':9} {'motion':6} {'method':6} | {'frame by frame':>26} | {'stabilised':>26} | {'ratio':>5}")
    print(f"{'':23} | {'fps':>6} {'peak MB':>8} {'warp err':>10} | {'fps':>6} {'peak MB':>8} {'warp err':>10} |")
    for r in rows:
        a, b = r["frame_by_frame"], r["stabilised"]
        print(f"{r['size']:9} {r['motion']:6} {r['method']:6} | {a['fps']:6.2f} {a['peak_rss_mb']:8.0f} "  # type: ignore[index]
              f"{a['warping_error']:10.5f} | {b['fps']:6.2f} {b['peak_rss_mb']:8.0f} {b['warping_error']:10.5f} | "  # type: ignore[index]
              f"{r['ratio']:5.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
