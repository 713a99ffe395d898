"""Class-conditional generation: D learns real (x, y) vs (G(z, y), y); G learns to fool D.

The schedule, penalties, clipping, augmentation and orthogonal regularisation are the shared
adversarial objective's. What this adds:

- labels: fakes are drawn for the labels of the real batch, so G sees the data's class balance
  and D judges real and fake images of the same classes (D(x, y) for gp / r1 / r2 too);
- AC-GAN (model.cond_d=acgan, Odena et al. 2017, eq. 2-3): D also minimises the class
  cross-entropy on real and fake images, and G minimises it on its fakes, both weighted by
  loss.aux_weight; the adversarial logit is unconditional. With loss.aux_fake=false D's class
  loss reads real images only: a D that also classifies fakes can learn class cues that only
  fakes carry (G's "7" drawn as a 3, and D taught that such 3s are 7s), as seen on MNIST;
- previews: one row per class, one column per noise vector, the same noise down each column.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.objectives.adversarial import AdversarialLoss, AdversarialObjective, Verdict, unwrap


@dataclass
class ConditionalLoss(AdversarialLoss):
    aux_weight: float = 1.0  # AC-GAN (model.cond_d=acgan): weight of the class cross-entropy in D's and G's losses
    aux_fake: bool = True  # AC-GAN: D's class loss on fakes too (Odena et al. 2017); false: on real images only

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if self.aux_weight < 0:
            raise UserError(f"loss.aux_weight={self.aux_weight}: a loss weight must be >= 0")


class ConditionalObjective(AdversarialObjective):
    """(noise, class) -> data; the shared adversarial step with labels, plus AC-GAN's class loss."""

    Loss = ConditionalLoss

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        self.acgan = getattr(cfg.model, "cond_d", None) == "acgan"
        self.num_classes = int(getattr(unwrap(networks["G"]), "num_classes", 0))

    def labels(self, batch: dict[str, Tensor], n: int, device) -> Tensor:
        return batch["y"]  # [N] int64

    def judge(self, x: Tensor, y: Tensor | None) -> Verdict:
        """D's logits [N] on augmented x, and its class logits [N, K] for AC-GAN."""
        x = self.aug(x)
        if self.acgan:
            return Verdict(*self.networks["D"](x, y, aux=True))
        return Verdict(self.networks["D"](x, y))

    def d_extra(self, real: Verdict, fake: Verdict, y: Tensor | None, logs: dict) -> Tensor | None:
        if not self.acgan:
            return None
        aux = F.cross_entropy(real.aux, y)  # -log p(c | real) [- log p(c | fake)]
        if self.cfg.loss.aux_fake:
            aux = aux + F.cross_entropy(fake.aux, y)
        logs |= {"loss_aux_D": aux.item(), "acc_real": (real.aux.argmax(1) == y).float().mean().item()}
        return self.cfg.loss.aux_weight * aux

    def g_extra(self, fake: Verdict, y: Tensor | None, logs: dict) -> Tensor | None:
        if not self.acgan:
            return None
        aux = F.cross_entropy(fake.aux, y)  # G wants its fakes classified as y
        logs["loss_aux_G"] = aux.item()
        return self.cfg.loss.aux_weight * aux

    # --- previews -----------------------------------------------------------------------------------
    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        """A K x K grid for K <= 16 classes (row i: class i; column j: noise vector j), so that the
        loop's square grid layout puts one class per row; for more classes, n samples with labels
        0, 1, ..., K-1, 0, ... Drawn from their own generator, never the training RNG."""
        gen = torch.Generator().manual_seed(seed + 7919)
        k = self.num_classes
        if k <= 16:
            zs = torch.randn(k, self.z_dim, generator=gen)  # [K, z]
            z = zs.repeat(k, 1)  # [K * K, z]: row i repeats zs
            y = torch.arange(k).repeat_interleave(k)  # [K * K]: row i is class i
        else:
            z = torch.randn(n, self.z_dim, generator=gen)
            y = torch.arange(n) % k
        return {"z": z, "y": y}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        return networks["G"](fixed["z"], fixed["y"])
