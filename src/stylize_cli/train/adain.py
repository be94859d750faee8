"""train-decoder (adain): AdaIN's decoder (Huang & Belongie 2017, §6) for our VGG-19.

The recipe is the paper's: the encoder is frozen; AdaIN puts a painting's
relu4_1 statistics on a photo's relu4_1 features (the target t); the decoder
learns to draw t, judged by the encoder itself: content loss ||f(g(t)) - t||²
at relu4_1 plus style loss on channel mean/std at relu1_1..relu4_1, style
weight 10, Adam lr 1e-4 with inverse-time decay, batches of 8 random crops.

What makes a CPU step cheaper without changing that objective:
- the photos are decoded once and kept in memory as uint8 at twice the crop
  size (the paper's 512 px resize for 256 px crops, scaled; `decoder.py`);
- a painting's statistics depend only on the painting, so each is encoded
  once (whole, shorter side to `style_size`, centre square) and cached, on
  disk too (OUT.paintings.pt), so resuming does not encode them again.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import ops, weights
from ..atomic import atomic_write
from ..devices import autocast, network_on, working
from ..errors import InputError
from ..layers import ADAIN_LAYER, ADAIN_STYLE_LAYERS
from ..models.adain import Decoder, Encoder, channel_means
from ..models.vgg import load_vgg19
from .data import Photos, image_files, load_small
from .decoder_state import DecoderCheckpoint, TrainDecoderConfig
from .loop import Record, descend

PAINTING_STATS_FORMAT = "stylize-adain-painting-stats/1"
Stats = dict[str, tuple[torch.Tensor, torch.Tensor]]


class Paintings:
    """The style images and their encoder statistics, computed the first time each is drawn.

    The statistics persist in a cache file beside the checkpoint, so a resumed
    run does not pay again for the paintings its predecessors encoded (on a CPU
    that is most of the first few hundred steps after every restart).
    """

    def __init__(self, root: str, files: list[Path], size: int, encoder: Encoder, cache: Path | None = None) -> None:
        self.files, self.size, self.cache = files, size, cache
        self.names = [f"{os.path.relpath(f, root)}:{f.stat().st_size}" for f in self.files]  # edited = new
        means = b"".join(encoder.channel_means[k].cpu().numpy().tobytes() for k in sorted(encoder.channel_means))
        self.key = f"{PAINTING_STATS_FORMAT} size={size} encoder={hashlib.sha256(means).hexdigest()[:16]}"
        self.stats: dict[int, Stats] = {}
        if cache is not None and cache.exists():
            stored = weights.load_checkpoint(cache, what="painting statistics cache")
            if isinstance(stored, dict) and stored.get("key") == self.key:
                device = encoder.mean.device
                index = {name: i for i, name in enumerate(self.names)}
                self.stats = {index[name]: {k: (m.to(device), s.to(device)) for k, (m, s) in v.items()}
                              for name, v in stored["stats"].items() if name in index}
        self.saved = len(self.stats)

    def save(self) -> None:
        if self.cache is None or len(self.stats) == self.saved:
            return
        stats = {self.names[i]: {k: (m.cpu().clone(), s.cpu().clone()) for k, (m, s) in v.items()}  # own storage
                 for i, v in self.stats.items()}
        with atomic_write(self.cache) as fh:
            torch.save({"key": self.key, "stats": stats}, fh)
        self.saved = len(self.stats)

    @torch.no_grad()
    def batch(self, n: int, rng: random.Random, encoder: Encoder, device: torch.device) -> Stats:
        picks = [rng.randrange(len(self.files)) for _ in range(n)]
        todo = sorted({i for i in picks if i not in self.stats})
        images = {i: load_small(self.files[i], shorter=self.size, square=True) for i in todo}
        ready = [i for i in todo if images[i] is not None]
        if ready:
            batch = working(torch.stack([images[i] for i in ready]).float() / 255.0, device)
            feats = encoder(batch, ADAIN_STYLE_LAYERS)
            for j, i in enumerate(ready):
                self.stats[i] = {k: tuple(s[j:j + 1] for s in ops.mean_std(feats[k])) for k in ADAIN_STYLE_LAYERS}
        picks = [i for i in picks if i in self.stats] or list(self.stats)[:1]  # unreadable ones dropped
        if not picks:
            raise InputError("the first style images drawn are all unreadable; check the style folder")
        picks = (picks * n)[:n]
        return {k: (torch.cat([self.stats[i][k][0] for i in picks]),
                    torch.cat([self.stats[i][k][1] for i in picks])) for k in ADAIN_STYLE_LAYERS}


def losses(encoder: Encoder, decoder: Decoder, content: torch.Tensor, style: Stats,
           config: TrainDecoderConfig) -> dict[str, torch.Tensor]:
    n, redraw = len(content), bool(config.identity_weight or config.feature_identity_weight)
    with torch.no_grad():
        photo = encoder(content, ADAIN_STYLE_LAYERS if config.feature_identity_weight else [ADAIN_LAYER])
        features = photo[ADAIN_LAYER]
        target = ops.adain(features, *style[ADAIN_LAYER])
    if redraw:  # one decoder pass for both: AdaIN(f(c), f(c)) = f(c)
        drawn, identity = decoder(torch.cat([target, features])).split(n)
    else:
        drawn = decoder(target)
    if config.feature_identity_weight:  # and one encoder pass
        both = encoder(torch.cat([drawn, identity]), ADAIN_STYLE_LAYERS)
        feats, redrawn = {k: v[:n] for k, v in both.items()}, {k: v[n:] for k, v in both.items()}
    else:
        feats = encoder(drawn, ADAIN_STYLE_LAYERS)
    content_loss = F.mse_loss(feats[ADAIN_LAYER], target)
    style_loss = sum(F.mse_loss(m, style[k][0]) + F.mse_loss(s, style[k][1])
                     for k in ADAIN_STYLE_LAYERS for m, s in [ops.mean_std(feats[k])])
    total = config.content_weight * content_loss + config.style_weight * style_loss
    values = {"content": content_loss, "style": style_loss}
    if config.identity_weight:
        values["identity"] = F.mse_loss(identity, content)
        total = total + config.identity_weight * values["identity"]
    if config.feature_identity_weight:
        values["identity_features"] = sum(ops.relative_error(redrawn[k], photo[k]) for k in ADAIN_STYLE_LAYERS)
        total = total + config.feature_identity_weight * values["identity_features"]
    if config.hatching_weight:  # periodic texture where the photo is flat: `stylize eval`'s hatching
        flat = ops.flattest(ops.patches(content))
        tiles = ops.patches(drawn).gather(1, flat[..., None, None].expand(-1, -1, ops.PATCH, ops.PATCH))
        values["hatching"] = 255 * ops.periodicity(tiles).mean()  # grey levels, as `stylize eval`
        total = total + config.hatching_weight * values["hatching"]
    return {**values, "total": total}  # type: ignore[dict-item]


class AdainRecipe:
    """The decoder alone; paintings as cached statistics (see the module docstring)."""

    stage = "train-decoder"

    def __init__(self, config: TrainDecoderConfig, device: torch.device, photos: Photos,
                 previous: DecoderCheckpoint | None, out: Path, log: Callable[[str], None]) -> None:
        self.config, self.device, self.photos = config, device, photos
        style_files = image_files(config.style_dir, "style")
        vgg = load_vgg19(device)
        if previous is None:  # a fresh run: normalise the encoder on the photos it will see
            rng = random.Random(config.seed)
            self.means = channel_means(Encoder(vgg).to(device), (photos.batch(config.batch, rng).to(device)
                                                                 for _ in range(16))) if config.normalise else {}
        else:
            self.means = previous.channel_means
        self.encoder = Encoder(vgg, self.means).to(device)
        self.paintings = Paintings(config.style_dir, style_files, config.style_size, self.encoder, cache_path(out))
        log(f"{len(photos.images)} photos, {len(self.paintings.files)} paintings "
            f"({len(self.paintings.stats)} with statistics cached in {cache_path(out)})")
        self.decoder = network_on(Decoder(), device)
        self.opt = torch.optim.Adam(self.decoder.parameters(), lr=config.learning_rate)
        if previous is not None:
            self.decoder.load_state_dict(previous.decoder)
            if previous.optimizer is not None:
                self.opt.load_state_dict(previous.optimizer)
        self.optimizers = [self.opt]
        self.losses = torch.compile(losses) if config.compile else losses
        self.settings = {"identity_weight": config.identity_weight,
                         "feature_identity_weight": config.feature_identity_weight,
                         "hatching_weight": config.hatching_weight,
                         "style_paintings": len(self.paintings.files)}

    def step(self, rng: random.Random) -> dict[str, torch.Tensor]:
        config, device = self.config, self.device
        content = working(self.photos.batch(config.batch, rng), device)
        style = self.paintings.batch(config.batch, rng, self.encoder, device)
        with autocast(device, config.precision):
            values = self.losses(self.encoder, self.decoder, content, style, config)
        descend(self.opt, values["total"])
        return values

    def checkpoint(self, record: Record) -> DecoderCheckpoint:
        return DecoderCheckpoint({k: v.detach().cpu() for k, v in self.decoder.state_dict().items()}, self.means,
                                 record, self.opt.state_dict())

    def saved(self) -> None:
        self.paintings.save()


def cache_path(out: Path) -> Path:
    return out.with_name(out.stem + ".paintings.pt")
