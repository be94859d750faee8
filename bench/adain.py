"""AdaIN quality and speed: prints tables, optionally writes JSON.

Quality (--quality): the judge's style and content ratios (`stylize_cli.losses.judge`,
lower is better) at --size px on fixed content x style pairs of ../shared/images,
for adain (the shipped decoder, or --decoder), cin (predicted vectors) and gatys
(same VGG-19; the slowest, so only its first --gatys-pairs pairs). Each method's
outputs can be saved with --save DIR. --grid FILE draws adain on GRID's shippable pairs.

Reconstruction (--recon): PSNR of adain at alpha 0 (decode(encode(photo))) against the photo,
on the same photos, and the texture error: relu1_1 and relu2_1 features of that redraw off the
photo's, relative to theirs. They track what the judge misses: an undertrained decoder's hatching
and streaks show up even with no style applied; PSNR rewards a blur, the texture error does not.

Speed (--speed), each measurement in its own process so its peak RSS is its own:
- adain N reuse: seconds per image at long side N, the style encoded once for 8 photos
- adain N reencode: the same with the style encoded again for every photo
- train 128: seconds per train-decoder step (crop 128, batch 8, style stats cached)
- gpu: images/s at 512 px, batch 8, in fp32, fp16 and bf16 with each one's PSNR against fp32,
  and train-decoder steps/s at 256 px crops, when a CUDA device is present

STYLIZE_IMAGES points at another copy of ../shared/images (scripts/gpu_kit.py packs one into .kit/).

    STYLIZE_MIRROR=../shared/weights python bench/adain.py --quality --speed [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = Path(os.environ.get("STYLIZE_IMAGES", ROOT.parent / "shared" / "images"))  # content/, style/
#: (content, style): varied photos; paintings first from the public-domain ones
PAIRS = [("chicago.jpg", "the_resevoir_at_poitiers.jpg"), ("golden_gate.jpg", "woman_with_hat_matisse.jpg"),
         ("cornell.jpg", "scene_de_rue.jpg"), ("sailboat.jpg", "contrast_of_forms.jpg"),
         ("avril.jpg", "picasso_seated_nude_hr.jpg"), ("flowers.jpg", "la_muse.jpg"),
         ("astronaut.png", "mondrian_cropped.jpg"), ("lenna.jpg", "en_campo_gris.jpg")]
#: for the README grid: only pictures we may ship (public-domain paintings, CC0/NASA photos)
GRID = [("chelsea.png", "the_resevoir_at_poitiers.jpg"), ("rocket.jpg", "woman_with_hat_matisse.jpg"),
        ("coffee.png", "mondrian_cropped.jpg"), ("astronaut.png", "contrast_of_forms.jpg")]
SPEED_STYLE = "the_resevoir_at_poitiers.jpg"  #: --speed stylizes PAIRS' photos with this painting
SPEED = ["adain512reuse", "adain512reencode", "adain1024reuse", "adain1024reencode", "train128", "gpu"]


def quality(methods: list[str], size: int, gatys_pairs: int, decoder: str | None,
            save: Path | None, runs: dict[str, tuple[str, dict[str, object]]] | None = None) -> dict[str, object]:
    """Judge each method on PAIRS; `runs` adds labelled ones: label -> (method, options)."""
    from stylize_cli import Stylizer
    from stylize_cli.images import load_image
    from stylize_cli.losses import judge
    from stylize_cli.models.vgg import load_vgg19

    vgg = load_vgg19()
    rows: dict[str, list[dict[str, float]]] = {}
    todo = {m: (m, {"decoder": decoder} if m == "adain" and decoder else {}) for m in methods} | (runs or {})
    for label, (method, options) in todo.items():
        pairs = PAIRS[:gatys_pairs] if method == "gatys" else PAIRS
        for content_name, style_name in pairs:
            content = IMAGES / "content" / content_name
            style = IMAGES / "style" / style_name
            start = time.perf_counter()
            out = Stylizer(style, method=method, size=size, device="cpu", **options)(content)
            seconds = time.perf_counter() - start
            scores = judge(vgg, load_image(out).rgb, load_image(content).rgb, load_image(style).rgb)
            rows.setdefault(label, []).append({"content": content_name, "style": style_name,
                                               "seconds": round(seconds, 2), **scores})
            if save:
                save.mkdir(parents=True, exist_ok=True)
                out.save(save / f"{label}_{Path(content_name).stem}_{Path(style_name).stem}.jpg", quality=92)
            print(f"  {label} {content_name} x {style_name}: style {scores['style_ratio']:.3f} "
                  f"content {scores['content_ratio']:.3f} ({seconds:.1f} s)", file=sys.stderr)
    mean = {m: {k: statistics.mean(r[k] for r in rs) for k in ("style_ratio", "content_ratio")}
            for m, rs in rows.items()}
    return {"size": size, "pairs": len(PAIRS), "rows": rows, "mean": mean}


def reconstruction(size: int, decoder: str | None) -> dict[str, object]:
    import torch
    import torch.nn.functional as F

    from stylize_cli import Stylizer
    from stylize_cli.images import fit, load_image
    from stylize_cli.models.vgg import load_vgg19
    from stylize_cli.ops import relative_error

    options = {"decoder": decoder} if decoder else {}
    vgg, low = load_vgg19(), ["relu1_1", "relu2_1"]
    rows = []
    for content_name, style_name in PAIRS:
        content = IMAGES / "content" / content_name
        out = load_image(Stylizer(IMAGES / "style" / style_name, method="adain", size=size, alpha=0.0,
                                  device="cpu", **options)(content)).rgb
        photo = fit(load_image(content).rgb, size)
        psnr = -10 * math.log10(F.mse_loss(out, photo).item())
        with torch.no_grad():  # texture: fine features off relative to the photo's (hatching for fur)
            got, want = vgg(out, low), vgg(photo, low)
            texture = statistics.mean(float(relative_error(got[k], want[k])) for k in low)
        rows.append({"content": content_name, "psnr_db": round(psnr, 2), "texture_error": round(texture, 3)})
        print(f"  reconstruction {content_name}: {psnr:.2f} dB, texture error {texture:.3f}", file=sys.stderr)
    return {"rows": rows, "psnr_db": statistics.mean(r["psnr_db"] for r in rows),
            "texture_error": statistics.mean(r["texture_error"] for r in rows)}


def grid(path: Path, size: int, decoder: str | None, cell: int = 256) -> None:
    """Photo | painting | adain, one row per GRID pair (shippable pictures only)."""
    from PIL import Image, ImageOps

    from stylize_cli import Stylizer

    options = {"decoder": decoder} if decoder else {}
    sheet = Image.new("RGB", (3 * cell, len(GRID) * cell), "white")
    for row, (content, style) in enumerate(GRID):
        out = Stylizer(IMAGES / "style" / style, method="adain", size=size, device="cpu", **options)(
            IMAGES / "content" / content)
        for col, im in enumerate((Image.open(IMAGES / "content" / content), Image.open(IMAGES / "style" / style),
                                  out)):
            sheet.paste(ImageOps.fit(im.convert("RGB"), (cell, cell)), (col * cell, row * cell))
    sheet.save(path, quality=90)


def speed_one(what: str) -> dict[str, object]:
    import torch

    from stylize_cli import Stylizer
    from stylize_cli.images import load_image

    style = IMAGES / "style" / SPEED_STYLE
    photos = [load_image(IMAGES / "content" / name) for name, _ in PAIRS]
    if what.startswith("adain"):
        size = int(what[5:].removesuffix("reuse").removesuffix("reencode"))
        stylizer = Stylizer(style, method="adain", size=size, device="cpu")
        stylizer(photos[0])  # warm-up: loads the networks
        start = time.perf_counter()
        for photo in photos:
            if what.endswith("reencode"):
                stylizer._prepared = None  # what a loop of separate `stylize` calls pays
            stylizer(photo)
        return {"seconds": (time.perf_counter() - start) / len(photos)}
    if what == "train128":
        return train_speed(torch.device("cpu"), 128, steps=6)
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device"}
    return {**gpu_inference(style, photos[0]),
            # the recipe .kit/train.sh runs (both identity losses on), in bf16 and in fp32
            **{f"train256_{p}": train_speed(torch.device("cuda"), 256, 20, p, identity_weight=1e7,
                                            feature_identity_weight=1e5) for p in ("bf16", "fp32")}}


def gpu_inference(style: Path, photo, device: str = "cuda",  # type: ignore[no-untyped-def]
                  size: int = 512, precisions: tuple[str, ...] = ("fp32", "fp16", "bf16")) -> dict[str, object]:
    """Images/s at 512 px, batch 8, per precision, and each output's PSNR against fp32's.

    The issue's rule: a lower precision becomes the GPU default only where it is faster and
    within 40 dB of fp32.
    """
    import numpy as np
    import torch

    from stylize_cli import Stylizer

    result: dict[str, object] = {}
    reference = None
    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    for precision in precisions:  # fp32 first: the reference
        stylizer = Stylizer(style, method="adain", size=size, device=device, precision=precision)
        out = np.asarray(stylizer.many([photo] * 8)[0], dtype=np.float64) / 255  # warm-up, and the output
        sync()
        start = time.perf_counter()
        for _ in range(5):
            stylizer.many([photo] * 8)
        sync()
        reference = out if reference is None else reference
        mse = float(((out - reference) ** 2).mean())
        result[precision] = {"images_per_s": round(40 / (time.perf_counter() - start), 1),
                             "psnr_vs_fp32_db": round(-10 * math.log10(mse), 1) if mse else math.inf}
    result["images_per_s"] = max(r["images_per_s"] for r in result.values())  # type: ignore[index]
    return result


def train_speed(device, crop: int, steps: int,  # type: ignore[no-untyped-def]
                precision: str = "fp32", **weights: float) -> dict[str, float]:
    """Seconds per training step itself, style statistics already cached (the steady state)."""
    import random

    import torch

    from stylize_cli.devices import autocast
    from stylize_cli.layers import ADAIN_STYLE_LAYERS
    from stylize_cli.models.adain import Decoder, Encoder
    from stylize_cli.models.vgg import load_vgg19
    from stylize_cli.ops import mean_std
    from stylize_cli.train.adain import losses
    from stylize_cli.train.decoder_state import TrainDecoderConfig

    config = TrainDecoderConfig("", "", crop=crop, **weights)  # type: ignore[arg-type]
    encoder, decoder = Encoder(load_vgg19(device)).to(device), Decoder().to(device)
    opt = torch.optim.Adam(decoder.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    content = torch.rand(8, 3, crop, crop, generator=g).to(device)
    with torch.no_grad():
        feats = encoder(torch.rand(8, 3, 256, 256, generator=g).to(device), ADAIN_STYLE_LAYERS)
    style = {k: mean_std(v) for k, v in feats.items()}
    random.seed(0)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        with autocast(device, precision):
            values = losses(encoder, decoder, content, style, config)
        opt.zero_grad()
        values["total"].backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return {"seconds_per_step": statistics.median(times[1:])}


def child_and_report(args: argparse.Namespace, speed_one, script: str) -> dict[str, object] | None:  # type: ignore[no-untyped-def]
    """In a `--one WHAT` child: print that measurement as JSON with its peak RSS and return None.
    Otherwise: the head of the report (machine, the command that made it)."""
    if args.one:
        result = speed_one(args.one)
        print(json.dumps({**result, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return None
    return {"machine": f"{platform.machine()}, {platform.processor() or '?'}",
            "command": " ".join(["python", f"bench/{Path(script).name}", *sys.argv[1:]])}


def each_in_its_process(script: str, only: str | None, known: list[str]) -> dict[str, dict[str, object]]:
    """`script --one WHAT` for each measurement (all of `known`, or the comma-separated `only`), so
    each peak RSS is its own; exits with the child's error if one fails."""
    results = {}
    for what in only.split(",") if only else known:
        if what not in known:
            sys.exit(f"--only: unknown measurement '{what}'; choose from {', '.join(known)}")
        out = subprocess.run([sys.executable, script, "--one", what], capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(f"{what} failed:\n{out.stderr[-2000:]}")
        results[what] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--recon", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--methods", default="adain,cin,gatys")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--gatys-pairs", type=int, default=4)
    parser.add_argument("--decoder", help="a decoder file instead of the shipped one")
    parser.add_argument("--save", type=Path, help="write every output image here")
    parser.add_argument("--grid", type=Path, help="write adain's results as a grid image")
    parser.add_argument("--only", help=f"--speed: these measurements only, of {','.join(SPEED)}")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: one speed measurement
    args = parser.parse_args()
    report = child_and_report(args, speed_one, __file__)
    if report is None:
        return
    if args.quality:
        result = quality(args.methods.split(","), args.size, args.gatys_pairs, args.decoder, args.save)
        gatys = f"; gatys on the first {args.gatys_pairs}" if "gatys" in args.methods else ""
        print(f"\nquality at {args.size} px ({len(PAIRS)} pairs{gatys})")
        print(f"{'method':8} {'style ratio':>12} {'content ratio':>14}")
        for method, mean in result["mean"].items():  # type: ignore[union-attr]
            print(f"{method:8} {mean['style_ratio']:12.3f} {mean['content_ratio']:14.3f}")
        report.update(result)
    if args.recon:
        recon = reconstruction(args.size, args.decoder)
        print(f"\nadain reconstruction (alpha 0) at {args.size} px: {recon['psnr_db']:.2f} dB PSNR, "
              f"texture error {recon['texture_error']:.3f} (relu1_1, relu2_1 relative MSE)")
        report["reconstruction"] = recon
    if args.grid:
        grid(args.grid, args.size, args.decoder)
    if args.speed:
        speed = each_in_its_process(__file__, args.only, SPEED)
        print(f"\n{'measurement':20} {'s/image or s/step':>18} {'peak RSS MB':>12}")
        for what, r in speed.items():
            value = r.get("seconds", r.get("seconds_per_step", r.get("images_per_s", r.get("skipped"))))
            print(f"{what:20} {value!s:>18.18} {r['peak_rss_mb']:12.0f}")
            for name in ("fp32", "fp16", "bf16", "train256_bf16", "train256_fp32"):
                if name in r:
                    print(f"  {name:18} {json.dumps(r[name])}")
        report["speed"] = speed
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
