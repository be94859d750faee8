"""`stylize train-style` and `stylize train-decoder`: learning new styles and the AdaIN decoder.

Both run the one training loop (`train/loop.py`): a progress bar with the
losses, checkpoints as they go and on Ctrl-C or SIGTERM, and the same command
(or `--resume`) continues where a run stopped.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import InputError, Interrupted
from .console import ProgressBar, say, warn

if TYPE_CHECKING:
    from ..styles import Style


def _device(name: str) -> object:
    from ..devices import pick_device, use_all_cores

    use_all_cores()
    return pick_device(name)


@click.command("train-style")
@click.argument("style_image", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Name to save the style under (use it as --style NAME).")
@click.option("--network", is_flag=True,
              help="Train a whole network for this painting (Johnson et al. 2016), not only its 100-number "
                   "vector: more stylized, about 7 minutes on 2 CPU cores, a 233 KB file.")
@click.option("--content-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Photos to train on (searched recursively). [default: the 4 sample photos shipped "
                   "with stylize]")
@click.option("--steps", type=click.IntRange(1), help="[default: 150, with --network 400]")
@click.option("--size", type=click.IntRange(64), default=256, show_default=True, help="Crop size in px.")
@click.option("--scale", type=click.IntRange(64), default=512, show_default=True,
              help="Long side of the pictures the style is made for; photos and painting are seen at it.")
@click.option("--style-weight", type=click.FloatRange(0),
              help="Higher: more style, less of the photo. [default: 1, with --network 2]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--licence", default="", help="Licence of the painting, recorded in the style file.")
@click.option("--force", is_flag=True, help="Replace a style of the same name (even a built-in one).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 autocast on GPUs and on CPUs with bf16 instructions (losses in fp32), fp32 "
                   "elsewhere.")
@click.option("--device", default="auto", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train_style(style_image: Path, name: str, network: bool, content_dir: Path | None, steps: int | None,
                size: int, scale: int, style_weight: float | None, seed: int, licence: str, force: bool,
                precision: str, device: str, quiet: bool) -> None:
    """Learn a new style from STYLE_IMAGE: a CIN vector, or with --network a network of its own.

    A vector is 100 numbers, every convolution frozen. Training starts from the
    style predictor's vector and fits it to VGG-19 content and Gram style
    losses on random crops of photos. With --network every weight of the
    transfer network is trained for this one painting instead, starting from
    that vector (or from the vector of the style being replaced, if it was
    made from the same painting). Interrupted runs resume when the same
    command is run again.
    """
    from ..images import check_destination, load_image
    from ..styles import builtin_names, check_name, user_dir
    from ..train.style import load_photos, make_style, style_config
    from ..train.style import train_style as train

    target = user_dir() / f"{check_name(name)}.json"
    exists = name in builtin_names() or target.exists()
    if not force and exists:
        where = "a built-in style" if name in builtin_names() else str(target)
        raise InputError(f"{name}: already {where}; choose another --name or pass --force")
    config = style_config(network, steps=steps, size=size, scale=scale, style_weight=style_weight, seed=seed,
                          precision=precision)
    style = load_image(style_image).rgb
    photos = load_photos(content_dir, config, warn)
    earlier = _same_painting(name, style_image.name) if network and exists else None
    checkpoint = user_dir() / f".{name}.train.pt"
    check_destination(target)  # a read-only style folder is found now, not after minutes of training
    command = (f"stylize train-style {shlex.quote(style_image.name)} --name {name}"
               + (" --network" if network else "") + f" --steps {config.steps} --size {size} --scale {scale} "
               f"--style-weight {config.style_weight:g} --seed {seed}"
               + (f" --content-dir {shlex.quote(str(content_dir))}" if content_dir else ""))
    began = time.perf_counter()
    with ProgressBar(disable=quiet) as bar:
        try:
            result = train(style, photos, config, _device(device), checkpoint, bar.update, log=say,
                           command=command, start=earlier.tensor() if earlier else None)
        except Interrupted:
            raise Interrupted(note=f"progress kept in {checkpoint}, run the same command to resume") from None
    made = make_style(name, result, style_image.name, licence or (earlier.licence if earlier else ""), command,
                      earlier)
    saved = made.save(target, network=result.network.to_bytes() if result.network else None)
    checkpoint.unlink(missing_ok=True)
    say(f"Saved {made.kind} style '{name}' to {saved} ({time.perf_counter() - began:.0f} s); "
        f"use it with: stylize run PHOTO --style {name}")


def _same_painting(name: str, painting: str) -> Style | None:
    """The style `name` is replacing, if it was made from the same painting (its vector is a better
    start for a network than the predicted one); a damaged style file is simply replaced."""
    from ..styles import find

    try:
        style = find(name)
    except InputError:
        return None
    return style if style.source.startswith(painting) else None


@click.command("train-decoder")
@click.option("--data-content", required=True, type=click.Path(file_okay=False),
              help="Folder of photos (searched recursively), e.g. MS-COCO.")
@click.option("--data-style", required=True, type=click.Path(file_okay=False),
              help="Folder of paintings (searched recursively), e.g. WikiArt.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Training checkpoint to write (resumable); OUT.decoder.pt beside it is the decoder "
                   "for `stylize run --method adain` (or sanet) `--decoder`.")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=Path),
              help="Continue from a training checkpoint or a decoder file; 'shipped' = the decoder "
                   "that comes with stylize.")
@click.option("--steps", type=click.IntRange(1), default=160_000, show_default=True,
              help="Step to stop at (counted from the very first run, so resuming continues the count).")
@click.option("--crop", type=click.IntRange(64), default=256, show_default=True,
              help="Content crop in px (photos are resized to twice this first). 128 on a CPU.")
@click.option("--style-size", type=click.IntRange(64), default=256, show_default=True,
              help="Paintings are seen whole: shorter side to this, centre square.")
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True)
@click.option("--arch", type=click.Choice(["adain", "sanet"]), default="adain", show_default=True,
              help="adain: the decoder alone. sanet: style attention (Park & Lee 2019) and its decoder, "
                   "which starts from the shipped adain decoder.")
@click.option("--style-weight", type=click.FloatRange(0), help="[default: adain 10, sanet 3]")
@click.option("--identity-weight", type=click.FloatRange(0),
              help="Add an identity loss: the decoder redraws each photo from its own features, "
                   "pixel MSE times this. [default: adain 0 (the paper's recipe), sanet 50]")
@click.option("--hatching-weight", type=click.FloatRange(0), default=0.0, show_default=True,
              help="adain: penalise periodic texture where the photo is flat (the hatching `stylize eval` "
                   "measures), times this.")
@click.option("--feature-identity-weight", type=click.FloatRange(0),
              help="The same redrawing compared in VGG features (relu1_1..relu4_1, each layer's MSE relative "
                   "to the photo's), times this: teaches textures, where pixel MSE teaches a blur. "
                   "[default: adain 0, sanet 1]")
@click.option("--contrastive", "contrastive_weight", type=click.FloatRange(0), default=0.0, is_flag=False,
              flag_value=0.3, help="sanet: add IEST's contrastive losses (Chen et al. 2021) with this weight "
                                   "(alone: 0.3, IEST's).")
@click.option("--external", "external_weight", type=click.FloatRange(0), default=0.0, is_flag=False,
              flag_value=5.0, help="sanet: add IEST's external loss, a discriminator against the whole "
                                   "painting set, with this weight (alone: 5, IEST's).")
@click.option("--from-adain/--from-scratch", default=True, show_default=True,
              help="sanet, fresh runs: start the decoder from the shipped adain decoder.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 autocast on GPUs and on CPUs with bf16 instructions (about 1.5x the steps), "
                   "fp32 elsewhere.")
@click.option("--compile", "compile_", is_flag=True,
              help="torch.compile the networks and losses: the first step waits a minute or more for the "
                   "compiler, later ones run fused kernels (pays on a GPU for long runs; measure it with "
                   "bench/adain.py --speed).")
@click.option("--normalise/--raw-vgg", default=False, show_default=True,
              help="Rescale the encoder's channels to mean 1 over the photos (the scale the paper's "
                   "style weight assumes), or keep the raw Caffe VGG-19 (measured to train better).")
@click.option("--save-every", type=click.IntRange(1), default=200, show_default=True,
              help="Steps between checkpoints (one is also written at least every 10 minutes).")
@click.option("--keep-every", type=click.IntRange(0), default=0, show_default=True,
              help="Also keep the decoder of every this many steps as OUT.STEP.decoder.pt (a multiple of "
                   "--save-every), to judge the run at several points with bench/validate.py.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train_decoder(data_content: str, data_style: str, out: Path, resume: Path | None, steps: int, crop: int,
                  style_size: int, batch: int, lr: float, arch: str, style_weight: float | None,
                  identity_weight: float | None, hatching_weight: float, feature_identity_weight: float | None,
                  contrastive_weight: float,
                  external_weight: float, from_adain: bool, precision: str, compile_: bool,
                  normalise: bool, save_every: int, keep_every: int, seed: int, device: str, quiet: bool) -> None:
    """Train AdaIN's decoder for stylize's VGG-19 (Huang & Belongie 2017), or with --arch sanet
    SANet's attention and decoder (Park & Lee 2019; IEST's losses with --contrastive, --external).

    Losses go to OUT.log.tsv every 50 steps; Ctrl-C saves a checkpoint, and
    `--resume OUT` continues exactly where it stopped.
    """
    from ..samples import data_path
    from ..train.decoder import decoder_path
    from ..train.decoder import train_decoder as train
    from ..train.decoder_state import TrainDecoderConfig

    if resume is not None and str(resume) == "shipped":
        resume = data_path("sanet.pt" if arch == "sanet" else "adain_decoder.pt")
    if out.exists() and (resume is None or resume.resolve() != out.resolve()):
        raise InputError(f"{out}: already exists; continue it with --resume {out} or choose another --out")
    config = TrainDecoderConfig(data_content, data_style, steps=steps, crop=crop, style_size=style_size,
                                batch=batch, learning_rate=lr, arch=arch, style_weight=style_weight,
                                identity_weight=identity_weight, feature_identity_weight=feature_identity_weight,
                                hatching_weight=hatching_weight, contrastive_weight=contrastive_weight,
                                external_weight=external_weight, from_adain=from_adain,
                                precision=precision, compile=compile_, normalise=normalise, seed=seed,
                                save_every=save_every, keep_every=keep_every)
    command = "stylize " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with ProgressBar(disable=quiet) as bar:
        try:
            reached = train(config, _device(device), out, resume=resume, command=command,
                            progress=bar.update, log=say)
        except Interrupted:
            raise Interrupted(note=f"continue with: --resume {out}") from None
    say(f"Trained to step {reached}: {out} (resumable), {decoder_path(out)} "
        f"(use with: stylize run PHOTO --style PAINTING --method {arch} --decoder {decoder_path(out)})")
