"""How StyleGAN2 trains (Karras et al. 2020, sec. 3.1 and appendix B; the schedule of the official
stylegan2-ada-pytorch `training/loss.py`):

    phase  every                   loss
    D      step (x train.d_steps)  non-saturating D loss on real vs G(z)   (+ penalties when not lazy)
    G      step                    non-saturating G loss -log s(D(G(z)))
    Dreg   loss.reg_interval       gamma * R1 (and any other D penalty set in cfg.loss), times the interval
    Greg   loss.pl_interval        path-length penalty, times the interval       (when loss.pl_weight > 0)

The D, G and Dreg phases are the shared adversarial objective's; what StyleGAN adds: fakes come
with style mixing (probability loss.style_mixing; StyleGAN sec. 3.1), G's phase folds each batch's
w into G's w_avg buffer (the centre used by truncation), and the Greg phase. The adversarial loss
is any registered one (cfg.loss.name; StyleGAN2 uses "nonsaturating"); the D penalties are the
shared functions of `ganforge.regularizers` (R1 is `r1_penalty`). Weight clipping and BigGAN's
orthogonal regularisation are not StyleGAN options (its loss section has no clip or ortho).

Path-length regularisation (StyleGAN2 sec. 3.2, eq. 4): for w-space Jacobians J_w of G,
    E_{w, y ~ N(0, I)} (||J_w^T y||_2 - a)^2,    y scaled by 1/sqrt(H W) so the length is per pixel,
with a the running mean of the lengths (rate loss.pl_decay), on half the batch. The running mean
is objective state, saved in checkpoints so that resuming continues it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.objectives.adversarial import AdversarialObjective, PenaltyLoss, unwrap
from ganforge.objectives.base import Phase, StepState

PL_BATCH_SHRINK = 2  # the path-length phase uses batch_size / 2 samples (official default)


@dataclass
class StyleGANLoss(PenaltyLoss):
    style_mixing: float = 0.9  # probability of a style-mixing batch (Karras et al. 2019: 0.9); 0: off
    pl_weight: float = 0.0  # path-length regularisation weight (Karras et al. 2020: 2); 0: off
    pl_interval: int = 4  # path-length penalty in a lazy "Greg" phase every k steps, scaled by k
    pl_decay: float = 0.01  # rate of the running mean of path lengths that the penalty pulls toward

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if not 0.0 <= self.style_mixing <= 1.0:
            raise UserError(f"loss.style_mixing={self.style_mixing}: a probability in [0, 1] (0 turns mixing off)")
        if self.pl_weight < 0 or self.pl_interval < 1 or not 0.0 < self.pl_decay <= 1.0:
            raise UserError(
                f"loss.pl_weight={self.pl_weight}, pl_interval={self.pl_interval}, pl_decay={self.pl_decay}: "
                "need pl_weight >= 0, pl_interval >= 1 and pl_decay in (0, 1]"
            )


def path_lengths(images: Tensor, ws: Tensor, noise: Tensor) -> Tensor:
    """||J_w^T y|| per sample: images [N, C, H, W] made from ws [N, L, w_dim] (in the graph), y = noise
    [N, C, H, W] already scaled by 1/sqrt(H W). The gradient of sum(images * y) w.r.t. ws is J^T y;
    its squares are summed over w_dim, averaged over the L layers (as the official code), rooted: [N]."""
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    return grad.square().sum(2).mean(1).sqrt()


class StyleGANObjective(AdversarialObjective):
    """StyleGAN2: the shared adversarial step with style mixing, lazy R1, lazy path-length regularisation."""

    Loss = StyleGANLoss

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        self.conditional = bool(cfg.model.conditional)
        self.pl_mean = torch.zeros(())  # a in eq. 4: running mean of path lengths

    def phases(self) -> list[Phase]:
        phases = super().phases()
        l = self.cfg.loss
        if l.pl_weight > 0:
            phases.append(Phase("Greg", self.g_reg, "G", interval=l.pl_interval, needs_data=False))
        return phases

    def labels(self, batch: dict[str, Tensor], n: int, device) -> Tensor | None:
        """Conditional: G's labels are the real batch's (so D sees the same class mix), or uniform."""
        if not self.conditional:
            return None
        if "y" in batch:
            return batch["y"]
        return torch.randint(0, self.networks["G"].num_classes, (n,), device=device)

    def make_fake(self, z: Tensor, y: Tensor | None, for_g: bool = False) -> Tensor:
        kw = {"update_w_avg": True} if for_g else {}
        return self.networks["G"](z, y, mixing=self.cfg.loss.style_mixing, **kw)

    def g_reg(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        """Path-length regularisation (the Greg phase), on G's own module outside the device wrapper: in
        fp32 under mixed precision, its Jacobian product taken by autograd.grad inside the loss."""
        G = unwrap(self.networks["G"])
        device = next(G.parameters()).device
        n = max(1, self.cfg.train.batch_size // PL_BATCH_SHRINK)
        y = self.labels({}, n, device)
        # z needs a gradient only when ws would not otherwise have one (model.mapping_layers=0)
        z = torch.randn(n, self.z_dim, device=device).requires_grad_(True)
        images, ws = G(z, y, mixing=self.cfg.loss.style_mixing, return_ws=True)  # [n, C, H, W], [n, L, w_dim]
        noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        lengths = path_lengths(images, ws, noise)  # [n]
        self.pl_mean = self.pl_mean.to(device).lerp(lengths.mean().detach(), self.cfg.loss.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        loss = penalty * self.cfg.loss.pl_weight * self.cfg.loss.pl_interval
        return loss, {"reg_pl": penalty.item(), "pl_mean": self.pl_mean.item()}

    # --- state, previews --------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, Tensor]:
        out = super().state_tensors()
        if self.cfg.loss.pl_weight > 0:
            out["pl_mean"] = self.pl_mean.detach().cpu().reshape(1)
        return out

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        super().load_state_tensors(tensors)
        if "pl_mean" in tensors:
            self.pl_mean = tensors["pl_mean"].reshape(())

    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        fixed = super().fixed_inputs(data, n, seed)
        if self.conditional:
            fixed["y"] = torch.arange(n) % self.networks["G"].num_classes  # balanced rows of classes
        return fixed

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        return networks["G"](fixed["z"], fixed.get("y"))
