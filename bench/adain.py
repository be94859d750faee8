"""AdaIN: reconstruction, the README grid and speed; prints tables, optionally writes JSON.

Quality on the validation set is bench/validate.py's (a decoder file as a setting:
`--setting 'mine=adain:{"decoder": "FILE"}'`).

Reconstruction (--recon): PSNR of adain at alpha 0 (decode(encode(photo))) against the photo,
on the photos of the first --pairs validation pairs, and the texture error: relu1_1 and relu2_1
features of that redraw off the photo's, relative to theirs. An undertrained decoder's hatching and
streaks show up even with no style applied; PSNR rewards a blur, the texture error does not.

--grid FILE draws adain on GRID's shippable pairs (the README's picture).

Speed (--speed), each measurement in its own process so its peak RSS is its own:
- adain N reuse: seconds per image at long side N, the style encoded once for 8 photos
- adain N reencode: the same with the style encoded again for every photo
- train 128: seconds per train-decoder step (crop 128, batch 8, style stats cached)
- gpu: images/s at 512 px, batch 8, in fp32, fp16 and bf16 with each one's PSNR against fp32,
  and train-decoder's training images/s at 256 px crops by batch and memory layout, compiled at
  the fastest, when a CUDA device is present

STYLIZE_IMAGES points at another copy of ../shared/images (scripts/gpu_kit.py packs one into .kit/).

    STYLIZE_MIRROR=../shared/weights python bench/adain.py --recon --speed [--json out.json]
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from pathlib import Path

from harness import IMAGES, arguments, as_child, header, in_children, validation_pairs, write_json

#: for the README grid: only pictures we may ship (public-domain paintings, CC0/NASA photos)
GRID = [("chelsea.png", "the_resevoir_at_poitiers.jpg"), ("rocket.jpg", "woman_with_hat_matisse.jpg"),
        ("coffee.png", "mondrian_cropped.jpg"), ("astronaut.png", "contrast_of_forms.jpg")]
#: --speed stylizes these photos with this painting (the GPU kit packs them)
SPEED_PHOTOS = ("chicago.jpg", "golden_gate.jpg", "cornell.jpg", "sailboat.jpg", "avril.jpg", "flowers.jpg",
                "astronaut.png", "lenna.jpg")
SPEED_STYLE = "the_resevoir_at_poitiers.jpg"
#: training batches the GPU measurement tries (the paper's 8, and what a large card has room for)
TRAIN_BATCHES = (8, 16, 32, 64)
SPEED = ["adain512reuse", "adain512reencode", "adain1024reuse", "adain1024reencode", "train128", "gpu"]


def reconstruction(size: int, pairs: int, decoder: str | None) -> dict[str, object]:
    import torch
    import torch.nn.functional as F

    from stylize_cli import Stylizer
    from stylize_cli.images import fit, load_image
    from stylize_cli.models.vgg import load_vgg19
    from stylize_cli.ops import relative_error

    options = {"decoder": decoder} if decoder else {}
    vgg, low = load_vgg19(), ["relu1_1", "relu2_1"]
    rows = []
    for content, style in dict(validation_pairs(pairs)).items():  # each photo once
        out = load_image(Stylizer(style, method="adain", size=size, alpha=0.0, device="cpu", **options)(content)).rgb
        photo = fit(load_image(content).rgb, size)
        psnr = -10 * math.log10(F.mse_loss(out, photo).item())
        with torch.no_grad():  # texture: fine features off relative to the photo's (hatching for fur)
            got, want = vgg(out, low), vgg(photo, low)
            texture = statistics.mean(float(relative_error(got[k], want[k])) for k in low)
        rows.append({"content": content.name, "psnr_db": round(psnr, 2), "texture_error": round(texture, 3)})
        print(f"  reconstruction {content.name}: {psnr:.2f} dB, texture error {texture:.3f}", file=sys.stderr)
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

    photos = [load_image(IMAGES / "content" / name) for name in SPEED_PHOTOS]
    if what.startswith("adain"):
        size = int(what[5:].removesuffix("reuse").removesuffix("reencode"))
        stylizer = Stylizer(IMAGES / "style" / SPEED_STYLE, method="adain", size=size, device="cpu")
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
    return {**gpu_inference(IMAGES / "style" / SPEED_STYLE, photos[0]), **gpu_training()}  # type: ignore[dict-item]


def gpu_training(device: str = "cuda", crop: int = 256, steps: int = 20,
                 batches: tuple[int, ...] = TRAIN_BATCHES) -> dict[str, dict[str, float]]:
    """Training images/s of the recipe .kit/train.sh runs (bf16, both identity losses) by batch and
    memory layout, then compiled at the fastest of those; fp32 at the first batch for reference."""
    import os

    import torch

    where, recipe = torch.device(device), {"identity_weight": 1e7, "feature_identity_weight": 1e5}
    result: dict[str, dict[str, float]] = {}
    layouts = {"": "0", "_channels_last": "1"}
    for suffix, flag in layouts.items():
        os.environ["STYLIZE_CHANNELS_LAST"] = flag  # read when the recipe builds its networks
        for batch in batches:
            row = result[f"train{crop}_bf16_batch{batch}{suffix}"] = {
                **train_speed(where, crop, steps, "bf16", batch=batch, **recipe), "batch": batch,
                "channels_last": int(flag)}
            if where.type == "cuda":
                row["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
                torch.cuda.reset_peak_memory_stats()
    best = max(result, key=lambda k: result[k]["images_per_s"])
    os.environ["STYLIZE_CHANNELS_LAST"] = str(int(result[best]["channels_last"]))
    batch = int(result[best]["batch"])
    result[f"{best}_compiled"] = {**train_speed(where, crop, steps, "bf16", batch=batch, compile=True, **recipe),
                                  "batch": batch}
    os.environ.pop("STYLIZE_CHANNELS_LAST")
    result[f"train{crop}_fp32_batch{batches[0]}"] = train_speed(where, crop, steps, "fp32", batch=batches[0], **recipe)
    return result


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


def train_speed(device, crop: int, steps: int, precision: str = "fp32",  # type: ignore[no-untyped-def]
                batch: int = 8, compile: bool = False, **weights: float) -> dict[str, float]:
    """train-decoder's own step on the --speed photos and painting: photos resident on the device,
    losses read back as the loop reads them; timed after warm-up steps (the compiler, the painting's
    statistics), so the steady state of a long run."""
    import random
    import tempfile

    import torch

    from stylize_cli.train.adain import AdainRecipe
    from stylize_cli.train.data import Photos, image_files
    from stylize_cli.train.decoder_state import TrainDecoderConfig
    from stylize_cli.train.loop import read

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, names in (("content", SPEED_PHOTOS), ("style", [SPEED_STYLE])):
            (Path(tmp) / kind).mkdir()
            for name in names:
                (Path(tmp) / kind / name).symlink_to(IMAGES / kind / name)
        config = TrainDecoderConfig(f"{tmp}/content", f"{tmp}/style", crop=crop, batch=batch, precision=precision,
                                    compile=compile, **weights)  # type: ignore[arg-type]
        photos = Photos(image_files(config.content_dir, "content"), crop, print, shorter=2 * crop, device=device)
        recipe = AdainRecipe(config, device, photos, None, Path(tmp) / "speed.pt", lambda _: None)
        rng = random.Random(0)
        for _ in range(3):
            read(recipe.step(rng))
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            read(recipe.step(rng))
        sync()
    seconds = (time.perf_counter() - start) / steps
    return {"seconds_per_step": seconds, "images_per_s": round(batch / seconds, 1)}


def main() -> None:
    if as_child(speed_one):
        return
    parser = arguments(__doc__, pairs=8)
    parser.add_argument("--recon", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--decoder", help="a decoder file instead of the shipped one")
    parser.add_argument("--grid", type=Path, help="write adain's results as a grid image")
    parser.add_argument("--only", help=f"--speed: these measurements only, of {','.join(SPEED)}")
    args = parser.parse_args()
    report: dict[str, object] = {**header(), "size": args.size}
    if args.recon:
        recon = reconstruction(args.size, args.pairs, args.decoder)
        print(f"\nadain reconstruction (alpha 0) at {args.size} px: {recon['psnr_db']:.2f} dB PSNR, "
              f"texture error {recon['texture_error']:.3f} (relu1_1, relu2_1 relative MSE)")
        report["reconstruction"] = recon
    if args.grid:
        grid(args.grid, args.size, args.decoder)
    if args.speed:
        speed = in_children(__file__, SPEED, args.only)
        print(f"\n{'measurement':20} {'s/image or s/step':>18} {'peak RSS MB':>12}")
        for what, r in speed.items():
            value = r.get("seconds", r.get("seconds_per_step", r.get("images_per_s", r.get("skipped"))))
            print(f"{what:20} {value!s:>18.18} {r['peak_rss_mb']:12.0f}")
            for name, value in r.items():
                if isinstance(value, dict):
                    print(f"  {name:36} {json.dumps(value)}")
        report["speed"] = speed
    write_json(args.json, report)


if __name__ == "__main__":
    main()
