"""CTGAN (Xu et al. 2019): a conditional generator and a PacGAN critic over rows encoded by
mode-specific normalisation (`ganforge.data.tables.ModeEncoder`). G(z, cond) -> a row: tanh for each
numeric column's alpha, Gumbel-softmax (training) or softmax (eval) for each one-hot span; D(row,
cond) -> one logit per pack of model.pack rows. The training step is
`ganforge.objectives.tabular.CTGANObjective`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import Pack, PackingOptions
from ganforge.models.registry import register_family
from ganforge.objectives.tabular import CTGANObjective
from ganforge.schema import ModelConfig


@dataclass
class CTGANConfig(PackingOptions, ModelConfig):
    family: str = "ctgan"
    z_dim: int = 128  # CTGAN: 128
    hidden: int = 256  # width of G's residual layers and D's layers (CTGAN: 256)
    depth: int = 2  # G's residual layers and D's hidden layers (CTGAN: 2)
    pack: int = 8  # PacGAN (Lin et al. 2018): D judges packs of this many rows (CTGAN: 10 with batches of 500)
    dropout: float = 0.5  # dropout after each of D's layers (CTGAN: 0.5)
    tau: float = 0.2  # Gumbel-softmax temperature of G's one-hot spans in training (CTGAN: 0.2)

    def validate(self, cfg) -> None:
        if self.hidden < 1 or self.depth < 1 or self.z_dim < 1:
            raise UserError(
                f"model.hidden, model.depth, model.z_dim must be >= 1 (got {self.hidden}, {self.depth}, {self.z_dim})"
            )
        if not 0.0 <= self.dropout < 1.0 or self.tau <= 0:
            raise UserError(f"model.dropout={self.dropout} must be in [0, 1) and model.tau={self.tau} > 0")
        self.check_pack(cfg)


class Residual(nn.Module):
    """CTGAN's generator block: [x, relu(bn(fc(x)))] -- the input is carried along by concatenation."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.fc, self.bn = nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], 1)  # [N, d_out + d_in]


class CTGANGenerator(nn.Module):
    def __init__(
        self, z_dim: int, spans: list[tuple[str, int]], discrete: list[dict], hidden: int, depth: int, tau: float
    ):
        super().__init__()
        self.z_dim, self.spans, self.discrete, self.tau = z_dim, [tuple(s) for s in spans], discrete, tau
        self.cond_dim = sum(c["size"] for c in discrete)
        blocks, width = [], z_dim + self.cond_dim
        for _ in range(depth):
            blocks.append(Residual(width, hidden))
            width += hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, sum(w for _, w in self.spans)))

    def activate(self, logits: Tensor) -> Tensor:
        """tanh on alphas; Gumbel-softmax (training, temperature tau) or softmax (eval) on one-hot spans."""
        out, pos = [], 0
        for kind, w in self.spans:
            part = logits[:, pos : pos + w]
            if kind == "tanh":
                out.append(torch.tanh(part))
            elif self.training:
                out.append(F.gumbel_softmax(part, tau=self.tau))
            else:
                out.append(F.softmax(part, 1))
            pos += w
        return torch.cat(out, 1)

    def forward(self, z: Tensor, y: Tensor | None = None, return_logits: bool = False):
        """z [N, z_dim], y the conditional vector [N, cond_dim] (None: zeros) -> a row [N, width]
        (and its logits with return_logits)."""
        if self.cond_dim:
            y = z.new_zeros(len(z), self.cond_dim) if y is None else y
            z = torch.cat([z, y], 1)
        logits = self.net(z)
        x = self.activate(logits)
        return (x, logits) if return_logits else x


class CTGANDiscriminator(nn.Module):
    def __init__(self, width: int, cond_dim: int, hidden: int, depth: int, pack: int, dropout: float):
        super().__init__()
        self.cond_dim = cond_dim
        layers: list[nn.Module] = [Pack(pack)] if pack > 1 else []  # [N, F] -> [N / pack, pack F]
        d = (width + cond_dim) * pack
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            d = hidden
        layers.append(nn.Linear(d, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.cond_dim:
            y = x.new_zeros(len(x), self.cond_dim) if y is None else y
            x = torch.cat([x, y], 1)
        return self.net(x).squeeze(1)  # [N / pack] critic values


def ctgan_example(shape: tuple[int, ...], n: int = 32, seed: int = 0) -> dict[str, Tensor]:
    """Example data for the contract test: 6 numeric columns already normalised to (-1, 1)."""
    gen = torch.Generator().manual_seed(seed)
    return {"x": torch.rand(n, 6, generator=gen) * 1.8 - 0.9}


def layout(meta: dict | None, width: int) -> tuple[list[tuple[str, int]], list[dict]]:
    """(spans, discrete columns) the table's ModeEncoder recorded (`Data.meta["table"]`); without
    one, `width` plain numeric columns in (-1, 1) (tanh spans) and no conditional vector."""
    state = (meta or {}).get("table")
    if not state:
        return [("tanh", 1)] * width, []
    if state.get("encoder") != "modes":
        raise UserError(
            "the ctgan family trains on data.name=table-modes (mode-specific normalisation), not on data.name=table"
        )
    spans, discrete = [tuple(s) for s in state["spans"]], state["discrete"]
    if sum(w for _, w in spans) != width:
        raise UserError(
            f"the table's encoding is {sum(w for _, w in spans)} wide but the data {width}; the checkpoint is damaged"
        )
    return spans, discrete


@register_family(
    "ctgan", CTGANConfig, CTGANObjective, tabular="synthesize", truncation=None, example_data=ctgan_example
)
def build_ctgan(cfg: CTGANConfig, shape: tuple[int, ...], num_classes: int = 0, meta=None) -> dict[str, nn.Module]:
    """CTGAN: synthetic table rows, conditional G + PacGAN critic, WGAN-GP (Xu et al. 2019)"""
    width = math.prod(shape)
    spans, discrete = layout(meta, width)
    G = CTGANGenerator(cfg.z_dim, spans, discrete, cfg.hidden, cfg.depth, cfg.tau)
    D = CTGANDiscriminator(width, G.cond_dim, cfg.hidden, cfg.depth, cfg.pack, cfg.dropout)
    return {"G": G, "D": D}
