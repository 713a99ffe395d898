"""Vanilla GAN (Goodfellow et al. 2014): MLP generator and discriminator, for flattened images or
for 2-D points."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import (
    DiscriminatorOptions,
    MinibatchStdDev,
    Pack,
    spectral_norm_all,
)
from ganforge.models.registry import register_family
from ganforge.schema import ModelConfig


@dataclass
class MLPConfig(DiscriminatorOptions, ModelConfig):
    family: str = "mlp"
    z_dim: int = 100
    hidden: int = 512  # hidden units per layer
    depth: int = 3  # hidden layers

    def validate(self, cfg) -> None:
        if self.hidden < 1 or self.depth < 1:
            raise UserError(f"model.hidden={self.hidden}, model.depth={self.depth}: both must be >= 1")
        self.check_d_options(cfg)


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, ...], hidden: int, depth: int, images: bool, sn: bool = False):
        super().__init__()
        self.z_dim, self.shape = z_dim, tuple(shape)
        layers, width = [], z_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, math.prod(shape)))
        if images:
            layers.append(nn.Tanh())  # images live in [-1, 1]; points are unbounded
        self.net = nn.Sequential(*layers)
        if sn:
            spectral_norm_all(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)  # [N, *shape]


class MLPDiscriminator(nn.Module):
    def __init__(
        self, shape: tuple[int, ...], hidden: int, depth: int, sn: bool = False, pack: int = 1, mbstd: int = 0
    ):
        super().__init__()
        layers: list[nn.Module] = [Pack(pack)] if pack > 1 else []  # [N, F] -> [N/m, m*F]
        width = math.prod(shape) * pack
        for i in range(depth):
            if mbstd and i == depth - 1:  # before the last hidden layer, so D can act on it
                layers.append(MinibatchStdDev(mbstd))  # [N, width + 1]
                width += 1
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        if sn:
            spectral_norm_all(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)  # [N] logits ([N / pack] with PacGAN packing)


@register_family("mlp", MLPConfig)
def build_mlp(cfg: MLPConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """Vanilla GAN: MLP G and D (Goodfellow et al. 2014), images or 2-D points"""
    images = len(shape) == 3
    return {
        "G": MLPGenerator(cfg.z_dim, shape, cfg.hidden, cfg.depth, images, sn=cfg.g_sn),
        "D": MLPDiscriminator(shape, cfg.hidden, cfg.depth, sn=cfg.d_sn, pack=cfg.pack, mbstd=cfg.mbstd),
    }
