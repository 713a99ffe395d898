"""Vanilla GAN (Goodfellow et al. 2014): MLP generator and discriminator, for flattened images or
for 2-D points."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganforge.config import ModelConfig
from ganforge.models.registry import register_family


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, ...], hidden: int, depth: int, images: bool):
        super().__init__()
        self.z_dim, self.shape = z_dim, tuple(shape)
        layers, width = [], z_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, math.prod(shape)))
        if images:
            layers.append(nn.Tanh())                    # images live in [-1, 1]; points are unbounded
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(z).view(len(z), *self.shape)   # [N, *shape]


class MLPDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...], hidden: int, depth: int):
        super().__init__()
        layers, width = [], math.prod(shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)        # [N] logits


@register_family("mlp")
def build_mlp(cfg: ModelConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """Vanilla GAN: MLP G and D (Goodfellow et al. 2014), images or 2-D points"""
    images = len(shape) == 3
    return {"G": MLPGenerator(cfg.z_dim, shape, cfg.hidden, cfg.depth, images),
            "D": MLPDiscriminator(shape, cfg.hidden, cfg.depth)}
