"""SANet against adain: speed, training cost, attention memory.

Quality on the validation set is bench/validate.py's (a SANet file as a setting:
`--setting 'base=sanet:{"decoder": "runs/base.decoder.pt"}'`).

Speed (--speed), each in its own process (peak RSS its own), the painting prepared once:
- sanet N / adain N: seconds per image at long side N on the CPU (and CUDA when present)
- memory chunked / whole: peak RSS of sanet at 1024 px with the attention in chunks
  (the default) and as one score matrix
- train LOSSES: seconds per train-decoder --arch sanet step at 128 px crops, batch 8, for
  each loss set (base; + contrastive; + external; both)

    STYLIZE_MIRROR=../shared/weights python bench/sanet.py [--only sanet512,train_base] [--json out.json]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adain import SPEED_PHOTOS, SPEED_STYLE
from harness import IMAGES, arguments, as_child, header, in_children, write_json

SPEED = ["sanet512", "sanet1024", "adain512", "adain1024", "memory_chunked", "memory_whole",
         "train_base", "train_contrastive", "train_external", "train_both"]
LOSS_SETS = {"base": {}, "contrastive": {"contrastive_weight": 0.3}, "external": {"external_weight": 5.0},
             "both": {"contrastive_weight": 0.3, "external_weight": 5.0}}


def speed_one(what: str) -> dict[str, object]:
    import torch

    from stylize_cli import Stylizer
    from stylize_cli.images import load_image

    style = IMAGES / "style" / SPEED_STYLE
    photos = [load_image(IMAGES / "content" / name) for name in SPEED_PHOTOS]
    if what.startswith("train_"):
        return train_speed(LOSS_SETS[what.removeprefix("train_")])
    if what.startswith("memory_"):
        return attention_memory(style, photos[0], chunked=what == "memory_chunked")
    method, size = what[:5], int(what[5:])
    result = {}
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        stylizer = Stylizer(style, method=method, size=size, device=device)
        stylizer(photos[0])  # warm-up: loads the networks, prepares the painting
        start = time.perf_counter()
        for photo in photos:
            stylizer(photo)
        result[f"seconds_{device}"] = round((time.perf_counter() - start) / len(photos), 3)
    return result


def attention_memory(style: Path, photo, chunked: bool) -> dict[str, object]:  # type: ignore[no-untyped-def]
    import torch

    from stylize_cli.images import fit, load_image
    from stylize_cli.methods.configs import SanetConfig
    from stylize_cli.methods.sanet import MULTIPLE, Sanet
    from stylize_cli.models.sanet import SCORES

    method = Sanet(SanetConfig(), torch.device("cpu"))
    prepared = method.prepare([load_image(style).rgb], [1.0])
    x = fit(photo.rgb, 1024, multiple=MULTIPLE)
    start = time.perf_counter()
    with torch.no_grad():
        method.model.stylize(x, prepared.keys, [1.0], chunk=SCORES if chunked else None)
    keys = prepared.keys[0][0][0].shape[-1]
    return {"seconds": round(time.perf_counter() - start, 2), "content_positions": x.shape[-2] * x.shape[-1] // 64,
            "style_positions": keys}


def train_speed(weights: dict[str, float], steps: int = 4) -> dict[str, object]:
    """Seconds per step itself (random pictures, no data loading), the median after a warm-up step."""
    import torch

    from stylize_cli.models.adain import Encoder
    from stylize_cli.models.sanet import DEEP_LAYER
    from stylize_cli.models.vgg import load_vgg19
    from stylize_cli.train.decoder_state import TrainDecoderConfig
    from stylize_cli.train.sanet import Discriminator, Trainee, loss_scale

    config = TrainDecoderConfig("", "", arch="sanet", crop=128, **weights)  # type: ignore[arg-type]
    g = torch.Generator().manual_seed(0)
    encoder = Encoder(load_vgg19("cpu"), last=DEEP_LAYER)
    trainee = Trainee(encoder, loss_scale(encoder, [torch.rand(4, 3, 128, 128, generator=g)]), config)
    critic = Discriminator() if config.external_weight else None
    opt = torch.optim.Adam([p for p in trainee.parameters() if p.requires_grad], lr=1e-4)
    opt_critic = torch.optim.Adam(critic.parameters(), lr=1e-4) if critic else None
    photos, paintings = torch.rand(4, 3, 128, 128, generator=g), torch.rand(4, 3, 128, 128, generator=g)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        values, stylized = trainee.losses(photos, paintings, critic)
        opt.zero_grad()
        values["total"].backward()
        opt.step()
        if critic is not None and opt_critic is not None:
            loss = critic.loss(paintings, 1.0) + critic.loss(stylized.detach(), 0.0)
            opt_critic.zero_grad()
            loss.backward()
            opt_critic.step()
        times.append(time.perf_counter() - start)
    return {"seconds_per_step": round(statistics.median(times[1:]), 2)}


def main() -> None:
    if as_child(speed_one):
        return
    parser = arguments(__doc__, pairs=None)
    parser.add_argument("--only", help=f"these measurements only, of {','.join(SPEED)}")
    args = parser.parse_args()
    speed = in_children(__file__, SPEED, args.only)
    print(f"\n{'measurement':20} {'result':>44} {'peak RSS MB':>12}")
    for what, r in speed.items():
        shown = ", ".join(f"{k} {v}" for k, v in r.items() if k != "peak_rss_mb")
        print(f"{what:20} {shown:>44} {r['peak_rss_mb']:12.0f}")
    write_json(args.json, {**header(), "speed": speed})


if __name__ == "__main__":
    main()
