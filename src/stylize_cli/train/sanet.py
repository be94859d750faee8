"""train-decoder --arch sanet: SANet's attention and decoder (Park & Lee 2019), with IEST's losses.

The objective is SANet's: content on mean-variance normalised relu4_1 and relu5_1
against the photo's; style as channel mean/std at relu1_1..relu5_1 against the
painting's; two identity losses (the network redraws a photo from the photo
itself as style, and a painting from itself: in pixels, weight 50, and in
features, weight 1). The paper's weights assume VGG features whose channels
average 1 over photos; ours are raw Caffe features (relu4_1 around 500), so the
losses divide each channel by its mean over the first photos (`loss_scale`, kept
in the checkpoint) and the weights mean what the paper's do.

IEST (Chen et al. 2021) adds, each optional:
- contrastive: every batch holds n photos and n paintings, stylized as (c_i, s_i)
  and (c_i+1, s_i); stylizations sharing a painting are pulled together in an
  embedding of their relu3_1 means, those sharing a photo in one of their relu4_1
  means (projection heads trained along, InfoNCE at temperature 0.2);
- external: a three-scale least-squares discriminator learns to tell the
  stylizations from paintings of the whole collection, and the network to fool it.

Paintings are random crops like the photos (the paper's 256 px crops of 512 px
pictures, scaled by --crop and --style-size), decoded once into memory.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import ops, weights
from ..devices import autocast, network_on, working
from ..errors import InputError
from ..layers import ADAIN_LAYER, ADAIN_STYLE_LAYERS
from ..methods.adain import DECODER
from ..models.adain import Decoder, Encoder, channel_means
from ..models.sanet import DEEP_LAYER, Transform, mvn
from ..models.vgg import load_vgg19
from .data import Photos, image_files
from .decoder_state import DecoderCheckpoint, TrainDecoderConfig
from .loop import Record, descend

LAYERS = (*ADAIN_STYLE_LAYERS, DEEP_LAYER)  #: relu1_1 .. relu5_1
TEMPERATURE = 0.2  #: IEST's


class Heads(nn.Module):
    """IEST's projection heads: a stylization's style (relu3_1) and content (relu4_1) embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.style = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 128))
        self.content = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128))


class Discriminator(nn.Module):
    """IEST's external critic: the same PatchGAN at three scales, least-squares targets."""

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 4, stride=2, padding=1), *([nn.InstanceNorm2d(cout)] if norm else []),
                    nn.LeakyReLU(0.2)]

        self.scales = nn.ModuleList(
            nn.Sequential(*block(3, 64, norm=False), *block(64, 128), *block(128, 256), *block(256, 512),
                          nn.Conv2d(512, 1, 3, padding=1)) for _ in range(3))

    def loss(self, images: torch.Tensor, target: float) -> torch.Tensor:
        """Scales below 32 px are skipped: four halvings leave an instance norm a single value."""
        total = images.new_zeros(())
        for scale in self.scales:
            if min(images.shape[-2:]) < 32:
                break
            total = total + (scale(images) - target).pow(2).mean()
            images = F.avg_pool2d(images, 3, stride=2, padding=1, count_include_pad=False)
        return total


def info_nce(z: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Each row's positive against every other row of the batch (IEST sums over anchors)."""
    z = F.normalize(z, dim=1)
    logits = (z @ z.T / TEMPERATURE).masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), -1e4)
    return F.cross_entropy(logits.float(), positive, reduction="sum")


class LossScale(nn.Module):
    """Each layer's channel means as buffers, so `.to(device)` moves them with the trainee."""

    def __init__(self, scale: dict[str, torch.Tensor]) -> None:
        super().__init__()
        for layer, means in scale.items():
            self.register_buffer(layer, means.reshape(1, -1, 1, 1).float())

    def __getitem__(self, layer: str) -> torch.Tensor:
        return self.get_buffer(layer)

    def plain(self) -> dict[str, torch.Tensor]:
        """As the checkpoint keeps it: one vector per layer, on the CPU."""
        return {name: buffer.flatten().cpu() for name, buffer in self.named_buffers()}


class Trainee(nn.Module):
    """Everything train-decoder --arch sanet updates, and how it scores a batch."""

    def __init__(self, encoder: Encoder, scale: dict[str, torch.Tensor], config: TrainDecoderConfig) -> None:
        super().__init__()
        self.encoder, self.config = encoder, config
        self.scale = LossScale(scale)
        self.transform, self.decoder, self.heads = Transform(), Decoder(), Heads()

    def losses(self, photos: torch.Tensor, paintings: torch.Tensor,
               critic: Discriminator | None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The losses of one batch, and the stylizations (for the critic's own step)."""
        config, n = self.config, len(photos)
        with torch.no_grad():
            both = self.encoder(torch.cat([photos, paintings]), LAYERS)
        c = {k: v[:n] for k, v in both.items()}
        s = {k: v[n:] for k, v in both.items()}
        # IEST's batch: (c_i, s_i) then (c_i+1, s_i); then each photo and painting as its own style
        content = {k: torch.cat([v, v.roll(-1, 0), v, s[k]]) for k, v in c.items()}
        style = {k: torch.cat([v, v, c[k], v]) for k, v in s.items()}
        drawn = self.decoder(self.transform(content[ADAIN_LAYER], content[DEEP_LAYER],
                                            style[ADAIN_LAYER], style[DEEP_LAYER]))
        feats = self.encoder(drawn, LAYERS)
        stylized = drawn[: 2 * n]
        out = {k: v[: 2 * n] for k, v in feats.items()}
        target = {k: v[: 2 * n] for k, v in content.items()}
        paint = {k: v[: 2 * n] for k, v in style.items()}
        values = {
            "content": sum(F.mse_loss(mvn(out[k]), mvn(target[k])) for k in (ADAIN_LAYER, DEEP_LAYER)),
            "style": sum(F.mse_loss(m / self.scale[k], pm / self.scale[k]) + F.mse_loss(sd / self.scale[k],
                                                                                        ps / self.scale[k])
                         for k in LAYERS for (m, sd), (pm, ps) in [(ops.mean_std(out[k]), ops.mean_std(paint[k]))]),
            "identity": F.mse_loss(drawn[2 * n:], torch.cat([photos, paintings])),
            "identity_features": sum(F.mse_loss(feats[k][2 * n:] / self.scale[k], both[k] / self.scale[k])
                                     for k in LAYERS),
        }
        total = (config.content_weight * values["content"] + config.style_weight * values["style"]
                 + config.identity_weight * values["identity"]
                 + config.feature_identity_weight * values["identity_features"])
        if config.contrastive_weight:
            ring = torch.arange(n, device=photos.device)
            same_style = torch.cat([ring + n, ring])  # (c_i, s_i) <-> (c_i+1, s_i)
            same_photo = torch.cat([(ring - 1) % n + n, (ring + 1) % n])  # (c_i, s_i) <-> (c_i, s_i-1)
            values["contrastive_style"] = info_nce(self.heads.style(out["relu3_1"].mean(dim=(2, 3))), same_style)
            values["contrastive_content"] = info_nce(self.heads.content(out[ADAIN_LAYER].mean(dim=(2, 3))),
                                                     same_photo)
            total = total + config.contrastive_weight * (values["contrastive_style"] + values["contrastive_content"])
        if critic is not None:
            values["external"] = critic.loss(stylized, 1.0)
            total = total + config.external_weight * values["external"]
        return {**values, "total": total}, stylized  # type: ignore[dict-item]


def loss_scale(encoder: Encoder, batches: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each channel's mean over the photos at relu1_1..relu5_1: what the paper's normalised VGG divides by.

    At least a tenth of the layer's median, so a channel photos barely use cannot swamp the
    style loss when a painting does use it.
    """
    means = channel_means(encoder, batches)
    return {k: means[k].clamp_min(0.1 * float(means[k].median())) for k in LAYERS}


class SanetRecipe:
    """SANet's transform and decoder (with IEST's heads and critic when asked for) on half-batches
    of photos and paintings; the decoder starts from the shipped adain decoder on a fresh run."""

    stage = "train-decoder sanet"

    def __init__(self, config: TrainDecoderConfig, device: torch.device, photos: Photos,
                 previous: DecoderCheckpoint | None, out: Path, log: Callable[[str], None]) -> None:
        self.config, self.device, self.photos = config, device, photos
        log("decoding the paintings into memory")
        self.paintings = Photos(image_files(config.style_dir, "style"), config.crop, log, shorter=config.style_size,
                                device=device)
        encoder = Encoder(load_vgg19(device), last=DEEP_LAYER).to(device)
        if previous is None:
            rng = random.Random(config.seed)
            scale = loss_scale(encoder, [photos.batch(config.batch, rng).to(device) for _ in range(16)])
        else:
            scale = previous.parts.get("loss_scale", {})
            if not scale:
                raise InputError(f"{previous.source}: a decoder file without its training state; resume from "
                                 "the training checkpoint (-o of the run that made it)")
        self.trainee = network_on(Trainee(encoder, scale, config), device)
        self.critic = network_on(Discriminator(), device) if config.external_weight else None
        trained = [*self.trainee.transform.parameters(), *self.trainee.decoder.parameters(),
                   *self.trainee.heads.parameters()]
        self.opt = torch.optim.Adam(trained, lr=config.learning_rate)
        self.opt_critic = torch.optim.Adam(self.critic.parameters(), lr=config.learning_rate, betas=(0.5, 0.999)) \
            if self.critic is not None else None
        if previous is None:
            if config.from_adain:
                shipped = weights.load_entry(DECODER)
                self.trainee.decoder.load_state_dict({k: v.float() for k, v in shipped["decoder"].items()})
                log(f"decoder starts from the shipped adain decoder ({shipped['steps']} steps)")
        else:
            self._resume(previous)
        self.optimizers = [o for o in (self.opt, self.opt_critic) if o is not None]
        self.losses = torch.compile(self.trainee.losses) if config.compile else self.trainee.losses
        log(f"{len(photos.images)} photos, {len(self.paintings.images)} paintings")
        self.settings = {"arch": "sanet", "style_weight": config.style_weight,
                         "identity_weight": config.identity_weight,
                         "feature_identity_weight": config.feature_identity_weight,
                         "contrastive_weight": config.contrastive_weight, "external_weight": config.external_weight,
                         "style_paintings": len(self.paintings.images)}

    def _resume(self, previous: DecoderCheckpoint) -> None:
        self.trainee.decoder.load_state_dict(previous.decoder)
        self.trainee.transform.load_state_dict(previous.parts["transform"])
        if "heads" in previous.parts:
            self.trainee.heads.load_state_dict(previous.parts["heads"])
        if self.critic is not None and "discriminator" in previous.parts:
            self.critic.load_state_dict(previous.parts["discriminator"])
        saved = previous.optimizer or {}
        if "model" in saved:
            self.opt.load_state_dict(saved["model"])
        if self.opt_critic is not None and "discriminator" in saved:
            self.opt_critic.load_state_dict(saved["discriminator"])

    def step(self, rng: random.Random) -> dict[str, torch.Tensor]:
        config, device, half = self.config, self.device, self.config.batch // 2
        content = working(self.photos.batch(half, rng), device)
        style = working(self.paintings.batch(half, rng), device)
        with autocast(device, config.precision):
            values, stylized = self.losses(content, style, self.critic)
        descend(self.opt, values["total"])
        if self.critic is not None and self.opt_critic is not None:
            with autocast(device, config.precision):
                critic_loss = self.critic.loss(style, 1.0) + self.critic.loss(stylized.detach(), 0.0)
            descend(self.opt_critic, critic_loss)
            values["critic"] = critic_loss
        return values

    def checkpoint(self, record: Record) -> DecoderCheckpoint:
        def cpu(module: nn.Module) -> dict[str, torch.Tensor]:
            return {k: v.detach().cpu() for k, v in module.state_dict().items()}

        trainee = self.trainee
        parts = {"transform": cpu(trainee.transform), "heads": cpu(trainee.heads),
                 "loss_scale": trainee.scale.plain()}
        optimizer = {"model": self.opt.state_dict()}
        if self.critic is not None and self.opt_critic is not None:
            parts["discriminator"] = cpu(self.critic)
            optimizer["discriminator"] = self.opt_critic.state_dict()
        return DecoderCheckpoint(cpu(trainee.decoder), {}, record, optimizer, "sanet", parts)

    def saved(self) -> None:
        pass
