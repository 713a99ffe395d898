"""Unconditional generation: D learns real vs G(z); G learns to fool D.

The schedule (phases, run in this order at every step where they are due):
    D      x train.d_steps  adversarial D loss (+ penalties gp / r1 / r2 when loss.reg_interval == 1)
    G                       adversarial G loss (+ BigGAN orthogonal regularisation when loss.ortho > 0)
    Dreg   every loss.reg_interval steps, only when > 1: the penalties alone, times the interval
           (StyleGAN2's lazy regularisation, Karras et al. 2020, sec. 3.1)
After every optimiser step of D (D and Dreg) its weights are clipped to [-c, c] when loss.clip is set.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganforge.losses import LOSSES
from ganforge.objectives.base import OBJECTIVES, Objective, Phase
from ganforge.regularizers import REGULARIZERS, clip_weights_, orthogonal_penalty, weighted_penalties


@OBJECTIVES.register("generation")
class GenerationObjective(Objective):
    """Noise -> data; adversarial loss from cfg.loss.name."""

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        self.adv = LOSSES.get(cfg.loss.name)
        self.z_dim = cfg.model.z_dim
        # D penalties with a non-zero weight, in REGULARIZERS order: {"gp": lambda, "r1": gamma, ...}
        self.penalties = {k: w for k in REGULARIZERS.keys() if (w := getattr(cfg.loss, k, 0.0)) > 0}
        self.lazy = bool(self.penalties) and cfg.loss.reg_interval > 1

    def phases(self) -> list[Phase]:
        phases = [Phase("D", "D", repeats=self.cfg.train.d_steps), Phase("G", "G")]
        if self.lazy:
            phases.append(Phase("Dreg", "D", interval=self.cfg.loss.reg_interval))
        return phases

    def d_penalty(self, D: nn.Module, real: Tensor, fake: Tensor,
                  y: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        """Sum of the weighted D penalties on this batch, and each unweighted term for the logs."""
        return weighted_penalties(D, self.penalties, real=real, fake=fake, y=y)

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
            logs = {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}
            if self.penalties and not self.lazy:
                reg, reg_logs = self.d_penalty(D, real, fake)
                loss = loss + reg
                logs.update(reg_logs)
            return loss, logs
        if phase.name == "G":
            d_fake = D(G(z))
            d_real = None
            if self.adv.g_needs_real:                       # relativistic losses compare with D(real)
                with torch.no_grad():                       # a constant for G
                    d_real = D(real)
            loss = self.adv.g(fake=d_fake, real=d_real)
            logs = {"loss_G": loss.item()}
            if self.cfg.loss.ortho > 0:
                ortho = orthogonal_penalty(G)
                loss = loss + self.cfg.loss.ortho * ortho
                logs["reg_ortho"] = ortho.item()
            return loss, logs
        if phase.name == "Dreg":
            with torch.no_grad():
                fake = G(z)
            reg, logs = self.d_penalty(D, real, fake)
            return reg * phase.interval, logs                # one lazy step stands for `interval` steps
        raise ValueError(f"unknown phase {phase.name}")

    def after_step(self, phase: Phase) -> None:
        if self.cfg.loss.clip is not None and phase.optimizer == "D":
            clip_weights_(self.networks["D"], self.cfg.loss.clip)
