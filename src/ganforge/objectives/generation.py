"""Unconditional generation: D learns real vs G(z); G learns to fool D."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganforge.losses import LOSSES
from ganforge.objectives.base import OBJECTIVES, Objective, Phase


@OBJECTIVES.register("generation")
class GenerationObjective(Objective):
    """Noise -> data; adversarial loss from cfg.loss.name."""

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        self.adv = LOSSES.get(cfg.loss.name)
        self.z_dim = cfg.model.z_dim

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", repeats=self.cfg.train.d_steps), Phase("G", "G")]

    def noise(self, n: int, device) -> Tensor:
        return torch.randn(n, self.z_dim, device=device)      # the global RNG: saved in checkpoints

    def loss(self, phase: Phase, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        G, D = self.networks["G"], self.networks["D"]
        real = batch["x"]
        z = self.noise(len(real), real.device)
        if phase.name == "D":
            with torch.no_grad():
                fake = G(z)
            d_real, d_fake = D(real), D(fake)
            loss = self.adv.d(real=d_real, fake=d_fake)
            return loss, {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}
        if phase.name == "G":
            d_fake = D(G(z))
            loss = self.adv.g(fake=d_fake)
            return loss, {"loss_G": loss.item()}
        raise ValueError(f"unknown phase {phase.name}")
