"""Class-conditional generation: D learns real (x, y) vs (G(z, y), y); G learns to fool D.

The schedule is that of "generation" (D x train.d_steps, G, lazy Dreg when loss.reg_interval > 1;
penalties, clipping and BigGAN's orthogonal regularisation as there). What differs:

- labels: fakes are drawn for the labels of the real batch, so G sees the data's class balance
  and D judges real and fake images of the same classes (D(x, y) for gp / r1 / r2 too);
- AC-GAN (model.cond_d=acgan, Odena et al. 2017, eq. 2-3): D also minimises the class
  cross-entropy on real and fake images, and G minimises it on its fakes, both weighted by
  loss.aux_weight; the adversarial logit is unconditional. With loss.aux_fake=false D's class
  loss reads real images only: a D that also classifies fakes can learn class cues that only
  fakes carry (G's "7" drawn as a 3, and D taught that such 3s are 7s), which the benchmark saw;
- augmentation (train.augment): every image D sees, real or fake, in D's step and in G's step,
  goes through the same differentiable transforms first (ganforge.augment: DiffAugment, ADA);
  ADA's p and running sums are saved in checkpoints through `state_tensors`;
- previews: one row per class, one column per noise vector, the same noise down each column.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.augment import AdaController, Augment
from ganforge.objectives.base import OBJECTIVES, Phase
from ganforge.objectives.generation import GenerationObjective
from ganforge.regularizers import orthogonal_penalty


def unwrap(net: nn.Module) -> nn.Module:
    """The user's module behind a Lightning Fabric wrapper (which only forwards `forward`)."""
    return getattr(net, "module", net) if hasattr(net, "_forward_module") else net


def ortho_target(G: nn.Module) -> nn.Module:
    """G, or G without the submodules it names in `ortho_exclude` (BigGAN's shared embedding)."""
    G = unwrap(G)
    skip = set(getattr(G, "ortho_exclude", ()))
    if not skip:
        return G
    return nn.ModuleList([m for name, m in G.named_children() if name not in skip])


@OBJECTIVES.register("conditional")
class ConditionalObjective(GenerationObjective):
    """(noise, class) -> data; adversarial loss from cfg.loss.name, AC-GAN class loss, augmentation."""

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        t = cfg.train
        self.acgan = cfg.model.cond_d == "acgan"
        self.num_classes = int(getattr(unwrap(networks["G"]), "num_classes", 0))
        self.augment = None
        self.ada = None
        if t.augment == "diffaugment":
            self.augment = Augment(t.augment_policy, 1.0 if t.augment_p is None else t.augment_p)
        elif t.augment == "ada":
            self.ada = AdaController(t.ada_target, t.ada_interval, t.ada_kimg, t.augment_p or 0.0)
            self.augment = Augment(t.augment_policy, self.ada.p)

    # --- what D sees --------------------------------------------------------------------------------
    def aug(self, x: Tensor) -> Tensor:
        return x if self.augment is None else self.augment(x)

    def judge(self, D: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor | None]:
        """D's logits [N] on augmented x, and its class logits [N, K] for AC-GAN (else None)."""
        x = self.aug(x)
        if self.acgan:
            return D(x, y, aux=True)
        return D(x, y), None

    def loss(self, phase: Phase, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        G, D = self.networks["G"], self.networks["D"]
        real, y = batch["x"], batch["y"]                                  # [N, C, H, W], [N] int64
        z = self.noise(len(real), real.device)
        w = self.cfg.loss.aux_weight
        if phase.name == "D":
            with torch.no_grad():
                fake = G(z, y)
            if self.ada is not None:
                self.augment.p = self.ada.p
            d_real, c_real = self.judge(D, real, y)
            d_fake, c_fake = self.judge(D, fake, y)
            loss = self.adv.d(real=d_real, fake=d_fake)
            logs = {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}
            if self.acgan:                                                # -log p(c | real) [- log p(c | fake)]
                aux = F.cross_entropy(c_real, y)
                if self.cfg.loss.aux_fake:
                    aux = aux + F.cross_entropy(c_fake, y)
                loss = loss + w * aux
                logs |= {"loss_aux_D": aux.item(), "acc_real": (c_real.argmax(1) == y).float().mean().item()}
            if self.ada is not None:
                self.ada.accumulate(d_real)
                logs |= {"ada_p": self.ada.p}
            if self.penalties and not self.lazy:
                reg, reg_logs = self.d_penalty(D, real, fake, y)
                loss = loss + reg
                logs.update(reg_logs)
            return loss, logs
        if phase.name == "G":
            d_fake, c_fake = self.judge(D, G(z, y), y)
            d_real = None
            if self.adv.g_needs_real:                                     # relativistic losses
                with torch.no_grad():
                    d_real, _ = self.judge(D, real, y)
            loss = self.adv.g(fake=d_fake, real=d_real)
            logs = {"loss_G": loss.item()}
            if self.acgan:
                aux = F.cross_entropy(c_fake, y)                          # G wants its fakes classified as y
                loss = loss + w * aux
                logs["loss_aux_G"] = aux.item()
            if self.cfg.loss.ortho > 0:
                ortho = orthogonal_penalty(ortho_target(G))
                loss = loss + self.cfg.loss.ortho * ortho
                logs["reg_ortho"] = ortho.item()
            return loss, logs
        if phase.name == "Dreg":
            with torch.no_grad():
                fake = G(z, y)
            reg, logs = self.d_penalty(D, real, fake, y)
            return reg * phase.interval, logs
        raise ValueError(f"unknown phase {phase.name}")

    def after_step(self, phase: Phase) -> None:
        super().after_step(phase)
        if self.ada is not None and phase.name == "D":
            self.ada.step()

    # --- ADA's state in checkpoints ----------------------------------------------------------------
    def state_tensors(self) -> dict[str, Tensor]:
        return {} if self.ada is None else {"ada": self.ada.state()}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        if self.ada is not None and "ada" in tensors:
            self.ada.load(tensors["ada"])
            self.augment.p = self.ada.p

    # --- previews -----------------------------------------------------------------------------------
    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        """A K x K grid for K <= 16 classes (row i: class i; column j: noise vector j), so that the
        loop's square grid layout puts one class per row; for more classes, n samples with labels
        0, 1, ..., K-1, 0, ... Drawn from their own generator, never the training RNG."""
        gen = torch.Generator().manual_seed(seed + 7919)
        k = self.num_classes
        if k <= 16:
            zs = torch.randn(k, self.z_dim, generator=gen)                 # [K, z]
            z = zs.repeat(k, 1)                                           # [K * K, z]: row i repeats zs
            y = torch.arange(k).repeat_interleave(k)                      # [K * K]: row i is class i
        else:
            z = torch.randn(n, self.z_dim, generator=gen)
            y = torch.arange(n) % k
        return {"z": z, "y": y}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        return networks["G"](fixed["z"], fixed["y"])
