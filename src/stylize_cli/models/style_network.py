"""A per-style feed-forward network (Johnson et al. 2016; Ulyanov et al. 2016's instance norm).

Magenta's transfer network already has the architecture those papers settled
on: reflection padding, instance normalization, residual blocks, and
nearest-neighbour upsampling followed by a convolution (no checkerboard). So a
network for one painting starts as that network with the painting's vector
folded in: each norm's gamma and beta become plain parameters, and training
then moves every weight for that one style. The projections from a vector to
gamma and beta are not needed any more and are not saved.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

import torch
from torch import nn

from .magenta import TransferNet

FORMAT = "stylize-style-network/1"
_UNUSED = (".norm.scale.", ".norm.shift.")  #: the vector-to-gamma/beta projections


class StyleNetwork(nn.Module):
    """TransferNet whose normalization parameters belong to one style instead of a vector."""

    def __init__(self, transfer: TransferNet | None = None) -> None:
        super().__init__()
        self.net = transfer if transfer is not None else TransferNet()
        channels = [norm.scale.out_features for norm in self.net.norms()]
        self.gammas = nn.ParameterList(nn.Parameter(torch.ones(1, c, 1, 1)) for c in channels)
        self.betas = nn.ParameterList(nn.Parameter(torch.zeros(1, c, 1, 1)) for c in channels)
        for norm in self.net.norms():
            norm.scale.requires_grad_(False)
            norm.shift.requires_grad_(False)

    @classmethod
    def folded(cls, transfer: TransferNet, vector: torch.Tensor) -> StyleNetwork:
        """A trainable copy of `transfer` that renders the style `vector` (1x100) exactly."""
        network = cls(copy.deepcopy(transfer).requires_grad_(True))
        with torch.no_grad():
            for (gamma, beta), g, b in zip(transfer.norm_params(vector.view(1, -1)), network.gammas,
                                           network.betas, strict=True):
                g.copy_(gamma)
                b.copy_(beta)
        return network

    def params(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """What `TransferNet.forward` takes as the style: this network's own gamma and beta."""
        return list(zip(self.gammas, self.betas, strict=True))

    def forward(self, content: torch.Tensor) -> torch.Tensor:
        return self.net(content, self.params())

    def to_bytes(self) -> bytes:
        """The weights in fp16 (half the size; the outputs differ by under one 8-bit level)."""
        state = {k: (v.half() if v.dim() else v).detach().cpu() for k, v in self.state_dict().items()
                 if not any(part in k for part in _UNUSED)}  # the norms' eps stay exact
        buffer = io.BytesIO()
        torch.save({"format": FORMAT, "state": state}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_state(cls, saved: object, path: Path) -> StyleNetwork:
        """Rebuild from what `to_bytes` wrote (already loaded with weights_only=True)."""
        from ..errors import WeightsError

        if not isinstance(saved, dict) or saved.get("format") != FORMAT or not isinstance(saved.get("state"), dict):
            raise WeightsError(f"{path}: not a stylize style network (no format \"{FORMAT}\")")
        network = cls()
        missing, unexpected = network.load_state_dict({k: v.float() for k, v in saved["state"].items()},
                                                      strict=False)
        if unexpected or any(not any(part in k for part in _UNUSED) for k in missing):
            raise WeightsError(f"{path}: style network weights do not fit the network "
                               f"({len(missing)} missing, {len(unexpected)} unexpected)")
        return network.eval().requires_grad_(False)
