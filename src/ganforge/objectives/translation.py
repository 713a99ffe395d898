"""Image-to-image translation objectives: "pix2pix" (paired) and "cyclegan" (unpaired).

Batches hold domain A in "x" and domain B in "x_b" (see `ganforge.data.paired`). Both objectives
extend the shared adversarial objective (its loss from loss.name) and run G's phase first and then
D's phase on the same batch, as the papers' code does: G's phase draws the batch, translates it and
leaves the real and the (detached) fake images in the step's `state.carry`; D's phase
(needs_data=False) judges those, so no image is translated twice. The carry lives only within one
step, so a checkpoint (always between steps) misses nothing. D penalties, clipping, n_critic and
augmentation are not translation options (its loss section has none of them).

Random jitter (data.load_size, data.flip) is drawn here, per batch, from a generator seeded by
(train.seed, step): a pure function of the step, so exact resume keeps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.augment import PairedJitter
from ganforge.errors import UserError
from ganforge.io import tiles
from ganforge.losses import LOSSES
from ganforge.objectives.adversarial import AdversarialObjective
from ganforge.objectives.base import OptimizerSpec, Phase, StepState
from ganforge.schema import LossConfig


@dataclass
class TranslationLoss(LossConfig):
    adv_weight: float = 1.0  # weight of the adversarial term in G's loss; 0: no D (pure reconstruction baseline)

    def validate(self, cfg) -> None:
        LOSSES.get(self.name)
        for key, value in vars(self).items():
            if key.endswith("_weight") and value < 0:
                raise UserError(f"loss.{key}={value}: a loss weight must be >= 0 (0 turns the term off)")


@dataclass
class Pix2PixLoss(TranslationLoss):
    l1_weight: float = 100.0  # lambda on |G(a) - b| (Isola et al. 2017)


@dataclass
class CycleGANLoss(TranslationLoss):
    cycle_weight: float = 10.0  # lambda on |F(G(a)) - a| + |G(F(b)) - b| (Zhu et al. 2017)
    identity_weight: float = 0.5  # identity loss |G(b) - b| + |F(a) - a|, as a fraction of cycle_weight; 0: off

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if cfg.train.pool_size < 0:
            raise UserError(f"train.pool_size={cfg.train.pool_size}: must be >= 0 (0: no pool)")


def l1(x: Tensor, y: Tensor) -> Tensor:
    return (x - y).abs().mean()  # mean |x - y|


def cycle_loss(a: Tensor, b: Tensor, G: nn.Module, F: nn.Module) -> tuple[Tensor, dict[str, Tensor]]:
    """Cycle consistency (Zhu et al. 2017, eq. 2): |F(G(a)) - a| + |G(F(b)) - b|, means over pixels.
    Returns the loss and the images made on the way (fake_b = G(a), fake_a = F(b), and the
    reconstructions), which the adversarial terms reuse."""
    fake_b, fake_a = G(a), F(b)
    rec_a, rec_b = F(fake_b), G(fake_a)
    return l1(rec_a, a) + l1(rec_b, b), {"fake_b": fake_b, "fake_a": fake_a, "rec_a": rec_a, "rec_b": rec_b}


class ImagePool:
    """A buffer of past generated images (Shrivastava et al. 2017; used by Zhu et al. 2017, sec. 4):
    D is updated on fakes from the history of generators, not only the latest, which damps
    oscillation. Until the pool holds `size` images every fake is stored and returned as is; after
    that each fake, with probability 1/2, is swapped with a random stored one (which is returned
    instead), else returned as is. Draws use the global torch RNG, which checkpoints save, and the
    contents are saved through `Objective.state_tensors`, so resume continues the same pool."""

    def __init__(self, size: int):
        self.size = size
        self.images: Tensor | None = None  # [K, C, H, W], K <= size

    def __len__(self) -> int:
        return 0 if self.images is None else len(self.images)

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        images = images.detach()
        out = []
        for img in images:
            img = img[None]  # [1, C, H, W]
            if self.images is not None and self.images.device != img.device:
                self.images = self.images.to(img.device)  # restored from a checkpoint on the CPU
            if len(self) < self.size:
                self.images = img.clone() if self.images is None else torch.cat([self.images, img])
                out.append(img)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i : i + 1].clone())
                self.images[i] = img[0]
            else:
                out.append(img)
        return torch.cat(out)

    def state(self) -> Tensor | None:
        return self.images

    def load(self, images: Tensor | None) -> None:
        self.images = None if images is None or len(images) == 0 else images.clone()[: self.size]


def preview_count(n: int, k: int = 3) -> int:
    """How many examples to show in an n-image budget so that the loop's square grid (sqrt of the
    image count per row) holds whole `k`-image rows: k m^2 examples, k^2 m^2 images, k m per row."""
    m = max(1, int(math.isqrt(max(n, 1) // k)))
    return k * m * m


class TranslationObjective(AdversarialObjective):
    """What pix2pix and CycleGAN share: the A/B batch with its jitter, the D phase on the G phase's
    fakes, and preview grids `input | output | target`."""

    Loss = TranslationLoss
    train_keys: frozenset[str] = frozenset()
    ema_network = "G"
    paired: bool = True  # x[i] and x_b[i] show the same scene

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        # data.load_size is validated to come with data.resolution, the crop size
        self.jitter = PairedJitter.from_config(cfg.data, cfg.data.resolution or 0)

    @property
    def adversarial(self) -> bool:
        return self.cfg.loss.adv_weight > 0

    def phases(self) -> list[Phase]:
        phases = [Phase("G", self.g_step, "G")]
        if self.adversarial:  # adv_weight=0: a pure reconstruction baseline
            phases.append(Phase("D", self.d_step, "D", needs_data=False))
        return phases

    def _g_adv(self, D: nn.Module, fake: Tensor, real: Tensor, cond: Tensor | None = None) -> Tensor:
        kwargs = {"cond": cond} if cond is not None else {}
        real_logits = D(real, **kwargs) if getattr(self.adv, "g_needs_real", False) else None
        return self.adv.g(fake=D(fake, **kwargs), real=real_logits)

    def _pair(self, batch: dict[str, Tensor], step: int, paired: bool) -> tuple[Tensor, Tensor]:
        if "x_b" not in batch:
            raise UserError(
                f"model.family={self.cfg.model.family} needs two-domain data (A in x, B in x_b), "
                "for example data.name=edges2digits; this data set has one domain"
            )
        a, b = batch["x"], batch["x_b"]
        if self.jitter is not None:
            gen = torch.Generator().manual_seed(self.cfg.train.seed * 1_000_003 + step)
            if paired:
                a, b = self.jitter([a, b], gen)  # one crop and flip per pair
            else:
                (a,), (b,) = self.jitter([a], gen), self.jitter([b], gen)
        return a, b

    # --- previews -----------------------------------------------------------------------------
    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        """A fixed, seeded choice of examples: "a" (inputs), "b" (their B partners for paired data; the
        unrelated B images of the same rows for unpaired data) and "target" (the true B partner of
        each input where known)."""
        extra = getattr(data, "extra", {}) or {}
        if "x_b" not in extra:
            raise UserError(
                f"model.family={self.cfg.model.family} needs two-domain data (A and B), for example "
                f"data.name=edges2digits; data.name={self.cfg.data.name} has one domain"
            )
        c_a, size = data.x.shape[1], data.x.shape[-1]
        x_b = extra["x_b"]
        c_b = self.cfg.model.out_channels or c_a
        if x_b.shape[1] != c_b or x_b.shape[-2:] != data.x.shape[-2:]:
            raise UserError(
                f"domain B images are {list(x_b.shape[1:])} but the model makes "
                f"{[c_b, size, size]}; set model.out_channels={x_b.shape[1]} or data.resolution"
            )
        k = min(preview_count(n), len(data))
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 7919))[:k]
        fixed = {"a": data.x[idx], "b": x_b[idx]}
        if "x_b_true" in extra:
            fixed["target"] = extra["x_b_true"][idx]
        elif self.paired:
            fixed["target"] = x_b[idx]
        return fixed

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        """Rows of `input | output | target` (target: the true partner where known, else, for
        CycleGAN, the reconstruction F(G(a))), as many examples per row as make a square grid."""
        a = fixed["a"]
        out = networks["G"](a)
        third = fixed.get("target")
        if third is None:
            third = networks["F"](out)
        return tiles([a, out, third])


class Pix2PixObjective(TranslationObjective):
    """Isola et al. 2017: G minimises adv_weight * GAN(D(a, G(a))) + l1_weight * |G(a) - b|
    (lambda = 100, eq. 4); D judges (a, b) against (a, G(a)), its loss halved (sec. 3.3)."""

    Loss = Pix2PixLoss
    paired = True

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        G, D = self.networks["G"], self.networks["D"]
        w = self.cfg.loss
        a, b = self._pair(batch, state.step, paired=True)
        fake = G(a)  # [N, C_b, H, W]
        rec = l1(fake, b)
        loss = w.l1_weight * rec
        logs = {"l1": rec.item()}
        if self.adversarial:
            adv = self._g_adv(D, fake, b, cond=a)
            loss = loss + w.adv_weight * adv
            logs["adv_G"] = adv.item()
            state.carry.update(a=a, b=b, fake=fake.detach())
        logs["loss_G"] = loss.item()
        return loss, logs

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        D, c = self.networks["D"], state.carry
        d_real, d_fake = D(c["b"], cond=c["a"]), D(c["fake"], cond=c["a"])
        loss = 0.5 * self.adv.d(real=d_real, fake=d_fake)  # halved: D learns slower than G (sec. 3.3)
        return loss, {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}


class CycleGANObjective(TranslationObjective):
    """Zhu et al. 2017: G: A->B and F: B->A minimise adv_weight * (GAN(D_B(G(a))) + GAN(D_A(F(b))))
    + cycle_weight * (|F(G(a)) - a| + |G(F(b)) - b|) + identity_weight * cycle_weight * (|G(b) - b|
    + |F(a) - a|) (eq. 3, and the identity loss of sec. 5.2); D_A and D_B learn on fakes drawn
    through two image pools, their losses halved. The paper's least-squares loss is loss.name=lsgan."""

    Loss = CycleGANLoss
    train_keys = frozenset({"pool_size"})
    paired = False

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        self.pools = {"A": ImagePool(cfg.train.pool_size), "B": ImagePool(cfg.train.pool_size)}

    def optimizers(self) -> dict[str, OptimizerSpec]:
        # one optimiser per pair, as in the paper's code
        return {"G": OptimizerSpec(("G", "F"), "g_optim"), "D": OptimizerSpec(("D_A", "D_B"), "d_optim")}

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        n, w = self.networks, self.cfg.loss
        a, b = self._pair(batch, state.step, paired=False)
        cyc, made = cycle_loss(a, b, n["G"], n["F"])
        loss = w.cycle_weight * cyc
        logs = {"cycle": cyc.item()}
        if w.identity_weight > 0 and a.shape[1] == b.shape[1]:  # identity needs equal channel counts
            idt = l1(n["G"](b), b) + l1(n["F"](a), a)
            loss = loss + w.identity_weight * w.cycle_weight * idt
            logs["identity"] = idt.item()
        if self.adversarial:
            adv = self._g_adv(n["D_B"], made["fake_b"], b) + self._g_adv(n["D_A"], made["fake_a"], a)
            loss = loss + w.adv_weight * adv
            logs["adv_G"] = adv.item()
            state.carry.update(a=a, b=b, fake_a=made["fake_a"].detach(), fake_b=made["fake_b"].detach())
        logs["loss_G"] = loss.item()
        return loss, logs

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        n, c = self.networks, state.carry
        fake_b, fake_a = self.pools["B"].query(c["fake_b"]), self.pools["A"].query(c["fake_a"])
        loss_b = 0.5 * self.adv.d(real=n["D_B"](c["b"]), fake=n["D_B"](fake_b))  # halved, as in the paper's code
        loss_a = 0.5 * self.adv.d(real=n["D_A"](c["a"]), fake=n["D_A"](fake_a))
        loss = loss_a + loss_b
        return loss, {"loss_D": loss.item(), "loss_D_A": loss_a.item(), "loss_D_B": loss_b.item()}

    def state_tensors(self) -> dict[str, Tensor]:
        return {f"pool_{k}": p.state() for k, p in self.pools.items() if len(p)}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        for k, p in self.pools.items():
            p.load(tensors.get(f"pool_{k}"))
