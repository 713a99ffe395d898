"""GAIN (Yoon et al. 2018): generator and discriminator MLPs over (data, mask) for imputing the
missing cells of a table. G(x~, m) -> values in [0, 1] for every cell; D(x^, h) -> a logit per cell
(observed or imputed?). The training step is `ganforge.objectives.imputation.GAINObjective`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.registry import register_family
from ganforge.objectives.imputation import GAINObjective
from ganforge.schema import ModelConfig


@dataclass
class GAINConfig(ModelConfig):
    family: str = "gain"
    hidden: int | None = None  # hidden units of G and D; None: the table's number of columns d (their code)
    depth: int = 2  # hidden layers of G and D (their code: 2)

    def validate(self, cfg) -> None:
        if (self.hidden is not None and self.hidden < 1) or self.depth < 1:
            raise UserError(
                f"model.hidden={self.hidden}, model.depth={self.depth}: both must be >= 1 (hidden: or none)"
            )


def mlp(d_in: int, hidden: int, depth: int, d_out: int) -> nn.Sequential:
    layers, width = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, d_out))
    for mod in layers:
        if isinstance(mod, nn.Linear):  # Xavier initialisation, as their code
            nn.init.xavier_normal_(mod.weight)
            nn.init.zeros_(mod.bias)
    return nn.Sequential(*layers)


class GAINGenerator(nn.Module):
    def __init__(self, d: int, hidden: int, depth: int):
        super().__init__()
        self.net = mlp(2 * d, hidden, depth, d)

    def forward(self, x: Tensor, m: Tensor) -> Tensor:
        return torch.sigmoid(self.net(torch.cat([x, m], 1)))  # [N, d] in (0, 1), the [0, 1]-scaled table


class GAINDiscriminator(nn.Module):
    def __init__(self, d: int, hidden: int, depth: int):
        super().__init__()
        self.net = mlp(2 * d, hidden, depth, d)

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        return self.net(torch.cat([x, h], 1))  # [N, d] logits: is each cell observed?


def table_example(shape: tuple[int, ...], n: int = 32, seed: int = 0) -> dict[str, Tensor]:
    """Example data for the contract test: 6 columns in [0, 1], about 20% of the cells missing (0 there)."""
    gen = torch.Generator().manual_seed(seed)
    m = (torch.rand(n, 6, generator=gen) > 0.2).float()
    return {"x": torch.rand(n, 6, generator=gen) * m, "m": m}


@register_family("gain", GAINConfig, GAINObjective, tabular="impute", truncation=None, example_data=table_example)
def build_gain(cfg: GAINConfig, shape: tuple[int, ...], num_classes: int = 0, meta=None) -> dict[str, nn.Module]:
    """GAIN: imputes missing table cells, MLPs over (data, mask) with hints (Yoon et al. 2018)"""
    d = math.prod(shape)
    hidden = cfg.hidden or d
    return {"G": GAINGenerator(d, hidden, cfg.depth), "D": GAINDiscriminator(d, hidden, cfg.depth)}
