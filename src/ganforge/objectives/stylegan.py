"""How StyleGAN2 trains (Karras et al. 2020, sec. 3.1 and appendix B; the schedule of the official
stylegan2-ada-pytorch `training/loss.py`):

    phase  every                   loss
    D      step (x train.d_steps)  non-saturating D loss on real vs G(z)   (+ penalties when not lazy)
    G      step                    non-saturating G loss -log s(D(G(z)))
    Dreg   loss.reg_interval       gamma * R1 (and any other D penalty set in cfg.loss), times the interval
    Greg   loss.pl_interval        path-length penalty, times the interval       (when loss.pl_weight > 0)

Fakes in D and G come with style mixing (probability loss.style_mixing; StyleGAN sec. 3.1). G's
phase folds each batch's w into G's w_avg buffer, the centre used by truncation. The adversarial
loss is any registered one (cfg.loss.name; StyleGAN2 uses "nonsaturating"); the D penalties are the
shared functions of `ganforge.regularizers` (R1 is `r1_penalty`).

Path-length regularisation (StyleGAN2 sec. 3.2, eq. 4): for w-space Jacobians J_w of G,
    E_{w, y ~ N(0, I)} (||J_w^T y||_2 - a)^2,    y scaled by 1/sqrt(H W) so the length is per pixel,
with a the running mean of the lengths (rate loss.pl_decay), on half the batch. The running mean
is objective state, saved in checkpoints so that resuming continues it exactly.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganforge.losses import LOSSES
from ganforge.objectives.base import OBJECTIVES, Objective, Phase
from ganforge.regularizers import REGULARIZERS, weighted_penalties

PL_BATCH_SHRINK = 2      # the path-length phase uses batch_size / 2 samples (official default)


def path_lengths(images: Tensor, ws: Tensor, noise: Tensor) -> Tensor:
    """||J_w^T y|| per sample: images [N, C, H, W] made from ws [N, L, w_dim] (in the graph), y = noise
    [N, C, H, W] already scaled by 1/sqrt(H W). The gradient of sum(images * y) w.r.t. ws is J^T y;
    its squares are summed over w_dim, averaged over the L layers (as the official code), rooted: [N]."""
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    return grad.square().sum(2).mean(1).sqrt()


@OBJECTIVES.register("stylegan")
class StyleGANObjective(Objective):
    """StyleGAN2: non-saturating loss, style mixing, lazy R1, lazy path-length regularisation."""

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        l = cfg.loss
        self.adv = LOSSES.get(l.name)
        self.z_dim = cfg.model.z_dim
        self.conditional = bool(cfg.model.style_conditional)
        self.penalties = {k: w for k in REGULARIZERS.keys() if (w := getattr(l, k, 0.0)) > 0}
        self.lazy = bool(self.penalties) and l.reg_interval > 1
        self.pl_mean = torch.zeros(())                    # a in eq. 4: running mean of path lengths

    def phases(self) -> list[Phase]:
        l = self.cfg.loss
        phases = [Phase("D", "D", repeats=self.cfg.train.d_steps), Phase("G", "G")]
        if self.lazy:
            phases.append(Phase("Dreg", "D", interval=l.reg_interval))
        if l.pl_weight > 0:
            phases.append(Phase("Greg", "G", interval=l.pl_interval, needs_data=False))
        return phases

    # --- helpers ----------------------------------------------------------------------------------
    def _labels(self, batch: dict[str, Tensor], n: int, device) -> Tensor | None:
        """Conditional: G's labels are the real batch's (so D sees the same class mix), or uniform."""
        if not self.conditional:
            return None
        if "y" in batch:
            return batch["y"]
        return torch.randint(0, self.networks["G"].num_classes, (n,), device=device)

    def _fake(self, n: int, y: Tensor | None, device, **kw):
        z = torch.randn(n, self.z_dim, device=device)      # the global RNG: saved in checkpoints
        return self.networks["G"](z, y, mixing=self.cfg.loss.style_mixing, **kw)

    def _d(self, x: Tensor, y: Tensor | None) -> Tensor:
        return self.networks["D"](x, y) if y is not None else self.networks["D"](x)

    def d_penalty(self, real: Tensor, fake: Tensor, y: Tensor | None) -> tuple[Tensor, dict[str, float]]:
        """Sum of the weighted D penalties (R1 and any other set in cfg.loss) and each term for the logs."""
        return weighted_penalties(self.networks["D"], self.penalties, real=real, fake=fake, y=y)

    # --- the phases -------------------------------------------------------------------------------
    def loss(self, phase: Phase, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        if phase.name == "Greg":
            return self.path_length_loss(phase)
        real = batch["x"]
        y = self._labels(batch, len(real), real.device)
        if phase.name == "D":
            with torch.no_grad():
                fake = self._fake(len(real), y, real.device)
            d_real, d_fake = self._d(real, y), self._d(fake, y)
            loss = self.adv.d(real=d_real, fake=d_fake)
            logs = {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}
            if self.penalties and not self.lazy:
                reg, reg_logs = self.d_penalty(real, fake, y)
                loss = loss + reg
                logs.update(reg_logs)
            return loss, logs
        if phase.name == "G":
            fake = self._fake(len(real), y, real.device, update_w_avg=True)
            d_fake = self._d(fake, y)
            d_real = None
            if self.adv.g_needs_real:
                with torch.no_grad():
                    d_real = self._d(real, y)
            loss = self.adv.g(fake=d_fake, real=d_real)
            return loss, {"loss_G": loss.item()}
        if phase.name == "Dreg":
            with torch.no_grad():
                fake = self._fake(len(real), y, real.device)
            reg, logs = self.d_penalty(real, fake, y)
            return reg * phase.interval, logs              # one lazy step stands for `interval` steps
        raise ValueError(f"unknown phase {phase.name}")

    def path_length_loss(self, phase: Phase) -> tuple[Tensor, dict[str, float]]:
        G = self.networks["G"]
        device = next(G.parameters()).device
        n = max(1, self.cfg.train.batch_size // PL_BATCH_SHRINK)
        y = self._labels({}, n, device)
        # z needs a gradient only when ws would not otherwise have one (model.mapping_layers=0)
        z = torch.randn(n, self.z_dim, device=device).requires_grad_(True)
        images, ws = G(z, y, mixing=self.cfg.loss.style_mixing, return_ws=True)   # [n, C, H, W], [n, L, w_dim]
        noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        lengths = path_lengths(images, ws, noise)                               # [n]
        self.pl_mean = self.pl_mean.to(device).lerp(lengths.mean().detach(), self.cfg.loss.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        loss = penalty * self.cfg.loss.pl_weight * phase.interval
        return loss, {"reg_pl": penalty.item(), "pl_mean": self.pl_mean.item()}

    # --- state, previews --------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, Tensor]:
        return {"pl_mean": self.pl_mean.detach().cpu().reshape(1)} if self.cfg.loss.pl_weight > 0 else {}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        if "pl_mean" in tensors:
            self.pl_mean = tensors["pl_mean"].reshape(())

    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        fixed = super().fixed_inputs(data, n, seed)
        if self.conditional:
            fixed["y"] = torch.arange(n) % self.networks["G"].num_classes     # balanced rows of classes
        return fixed

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        return networks["G"](fixed["z"], fixed.get("y"))
