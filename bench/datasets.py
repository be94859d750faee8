"""Stylized datasets and style augmentation: our `--random 1` run against bethgelab's stylize-datasets,
memory over a long run, and StyleAugment's images/s by batch size.

- peer: the same photos and the same painting pool through `stylize run IN -s POOL --random 1` and
  through stylize-datasets' own `stylize.py` (its repository fetched to --peer, its dependencies
  in the running Python; our decoder and VGG converted to its file format here, in the bench only),
  images/s and peak RSS, each its own process. A second `--random 1` run reads the pool's
  statistics from the cache.
- memory: resident memory of one `--random 1` run after --memory-short photos and after
  --memory-long (aim: within 10%).
- augment: StyleAugment (cin's drawn styles; adain with the pool) images/s at 224 px by batch size.

Photos are the sample photos of ../shared/images/content in crops and flips at --size px (as many
as asked), paintings the sample paintings of ../shared/images/style in four crops each (100).

    STYLIZE_MIRROR=../shared/weights python bench/datasets.py --peer /path/to/stylize-datasets \
        --peer-python /path/to/peer-venv/bin/python [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak import measure

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "images"
CLI = [sys.executable, "-m", "stylize_cli", "run"]


def make_photos(folder: Path, count: int, size: int) -> None:
    """`count` different pictures from the sample photos: crops of varying position and scale, flips."""
    sources = sorted((IMAGES / "content").glob("*.jpg"))
    folder.mkdir(parents=True)
    for i in range(count):
        with Image.open(sources[i % len(sources)]) as opened:
            im = ImageOps.exif_transpose(opened).convert("RGB")
            k = i // len(sources)
            scale = 0.6 + 0.4 * ((k * 7) % 10) / 10
            w, h = int(im.width * scale), int(im.height * scale)
            left, top = (im.width - w) * ((k * 3) % 5) // 4, (im.height - h) * ((k * 2) % 5) // 4
            im = im.crop((left, top, left + w, top + h))
            im = ImageOps.mirror(im) if k % 2 else im
            im.thumbnail((size, size))
            im.save(folder / f"{i:05d}.jpg", quality=92)


def make_pool(folder: Path) -> None:
    folder.mkdir(parents=True)
    for source in sorted((IMAGES / "style").glob("*.jpg")):
        with Image.open(source) as opened:
            im = opened.convert("RGB")
            w, h = im.size
            for j, box in enumerate(((0, 0, w * 3 // 4, h * 3 // 4), (w // 4, 0, w, h * 3 // 4),
                                     (0, h // 4, w * 3 // 4, h), (w // 4, h // 4, w, h))):
                crop = im.crop(box)
                crop.thumbnail((1024, 1024))
                crop.save(folder / f"{source.stem}_{j}.jpg", quality=92)


def peer_weights(models: Path) -> None:
    """Our shipped decoder and VGG-19 in stylize-datasets' layout (naoto0804 pytorch-AdaIN's nn.Sequential):
    its first 1x1 conv does our RGB 0..1 → Caffe BGR 0..255 minus the mean."""
    import torch

    from stylize_cli.methods.adain import load_adain
    from stylize_cli.models.vgg import load_vgg19

    model = load_adain(torch.device("cpu"))
    encoder = [m for m in model.encoder.layers if isinstance(m, torch.nn.Conv2d)]  # to conv4_1, as normalised
    deeper = [m for m in load_vgg19("cpu").layers if isinstance(m, torch.nn.Conv2d)][len(encoder):]
    first = torch.zeros(3, 3, 1, 1)
    for o in range(3):
        first[o, 2 - o] = 255.0
    vgg = {"0.weight": first, "0.bias": -model.encoder.mean.view(3)}
    indices = [2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]  # its convs after the 1x1
    for index, conv in zip(indices, encoder + deeper, strict=True):
        vgg[f"{index}.weight"], vgg[f"{index}.bias"] = conv.weight.detach().clone(), conv.bias.detach().clone()
    decoder_convs = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Conv2d)]
    decoder = {}
    for index, conv in zip([1, 5, 8, 11, 14, 18, 21, 25, 28], decoder_convs, strict=True):
        decoder[f"{index}.weight"], decoder[f"{index}.bias"] = conv.weight.detach().float(), conv.bias.detach().float()
    models.mkdir(parents=True, exist_ok=True)
    torch.save(vgg, models / "vgg_normalised.pth")
    torch.save(decoder, models / "decoder.pth")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(work: Path, pool: Path, short: int, long: int, size: int) -> dict[str, float]:
    """RSS of one --random 1 run when its short-th and its last output are recorded."""
    photos = work / "memory_in"
    make_photos(photos, long, size)
    proc = subprocess.Popen([*CLI, str(photos), "-s", str(pool), "--random", "1", "-o", str(work / "memory_out"),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    seen, at = 0, {}
    for _ in proc.stdout:
        seen += 1
        if seen in (short, long):
            at[seen] = rss_mb(proc.pid)
    proc.wait()
    return {"photos_short": short, "rss_short_mb": at[short], "photos_long": long, "rss_long_mb": at[long],
            "ratio": at[long] / at[short]}


def augment_rates(pool: Path, batches: list[int], repeat: int = 3) -> list[dict[str, object]]:
    import torch

    from stylize_cli.augment import StyleAugment
    from stylize_cli.devices import use_all_cores

    use_all_cores()
    rows = []
    for name, augment in (("cin", StyleAugment(seed=0)), ("adain + pool", StyleAugment(method="adain", paintings=pool,
                                                                                         seed=0))):
        for n in batches:
            x = torch.rand(n, 3, 224, 224)
            augment(x)  # loads, and prepares the first paintings
            start = time.perf_counter()
            count = 0
            while count < max(32, n) * repeat:
                augment(x)
                count += n
            rows.append({"augment": name, "batch": n, "images_per_s": count / (time.perf_counter() - start)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", type=Path, help="a checkout of bethgelab/stylize-datasets (skipped without)")
    parser.add_argument("--peer-python", type=Path, default=Path(sys.executable),
                        help="the Python of a separate virtualenv with the peer's requirements (torch, tqdm)")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--size", type=int, default=256, help="long side of the generated photos")
    parser.add_argument("--memory-short", type=int, default=200)
    parser.add_argument("--memory-long", type=int, default=2000)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--parts", nargs="+", default=["peer", "memory", "augment"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pool, photos = work / "pool", work / "photos"
        make_pool(pool)
        make_photos(photos, args.photos, args.size)
        env = {**os.environ, "STYLIZE_CACHE": str(work / "cache")}
        if "peer" in args.parts:
            rows = []
            for run in ("stylize --random 1 (cache empty)", "stylize --random 1 (cached)"):
                code, mb, seconds, _, err = measure([*CLI, str(photos), "-s", str(pool), "--random", "1", "-o",
                                                     str(work / run.replace(" ", "_")), "-q"], env)
                assert code == 0, err
                rows.append({"run": run, "images_per_s": args.photos / seconds, "peak_mb": mb})
            if args.peer:
                peer = work / "peer"
                peer.mkdir()
                for name in ("stylize.py", "net.py", "function.py"):
                    (peer / name).write_bytes((args.peer / name).read_bytes())
                peer_weights(peer / "models")
                code, mb, seconds, _, err = measure([str(args.peer_python), "stylize.py", "--content-dir",
                                                     str(photos), "--style-dir", str(pool), "--output-dir",
                                                     str(work / "peer_out"), "--num-styles", "1"], env, cwd=peer)
                rows.append({"run": "stylize-datasets stylize.py" + ("" if code == 0 else f" (exit {code}: "
                                                                      f"{err.strip().splitlines()[-1]})"),
                             "images_per_s": args.photos / seconds, "peak_mb": mb})
            results["peer"] = rows
            print(f"\n{args.photos} photos at {args.size} px, pool of 100 paintings, adain, one process each\n")
            print("| run | images/s | peak RSS |\n|---|---|---|")
            for r in rows:
                print(f"| {r['run']} | {r['images_per_s']:.2f} | {r['peak_mb']:.0f} MB |")
        if "memory" in args.parts:
            results["memory"] = m = memory(work, pool, args.memory_short, args.memory_long, args.size)
            print(f"\nresident memory of one --random 1 run: {m['rss_short_mb']:.0f} MB after {m['photos_short']} "
                  f"photos, {m['rss_long_mb']:.0f} MB after {m['photos_long']} ({m['ratio']:.3f}x)")
        if "augment" in args.parts:
            results["augment"] = rows = augment_rates(pool, args.batches)
            print("\nStyleAugment at 224 px\n\n| augment | batch | images/s |\n|---|---|---|")
            for r in rows:
                print(f"| {r['augment']} | {r['batch']} | {r['images_per_s']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
