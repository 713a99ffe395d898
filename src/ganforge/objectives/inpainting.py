"""Inpainting objectives: the context encoder (Pathak et al. 2016, "Context Encoders: Feature Learning
by Inpainting") and the masked-image GAN (Yu et al. 2019, "Free-Form Image Inpainting with Gated
Convolution", DeepFill v2, without its second, refinement stage).

Every step draws the batch's masks [N, 1, H, W] (1 = missing) with `ganforge.data.masks` from a
generator seeded by (train.seed, step), so the holes are a pure function of (seed, batch number) and
resume is exact. Then, G's phase first and D's phase on what it left in `state.carry` (as translation
does, so G runs once a step):

    G   input  x_in = x with the hole set to 0 (mid grey: the mean fill of Pathak et al.), and the mask
        out    = G(x_in, mask)                 [N, C, H, W], a whole image
        comp   = x outside the hole, out inside (what inpainting returns)
        loss   = rec_weight * (rec(out, x) over the hole + valid_weight * rec(out, x) over known pixels)
                 + adv_weight * G's adversarial loss on D(comp, mask)
        rec is loss.rec: l2 (the context encoder's squared error) or l1 (DeepFill's), a mean per pixel
        of the region
    D   loss.name's D loss on D(x, mask) (real) and D(comp.detach(), mask) (fake); the inpainting GAN's D
        is a PatchGAN (one logit per patch), the context encoder's one logit per image

The context encoder's defaults are the paper's: centre hole, L2 0.999 + adversarial 0.001 (sec. 3.2),
the loss on the hole only (the paper's 4-px overlap weighted 10x is not reproduced; valid_weight adds
a term on the known pixels instead). The masked GAN's: hinge loss (SN-PatchGAN), L1 on the hole and on
the known pixels with weight 1 each (DeepFill v2 applies its L1 to the whole output), and an
adversarial weight of 0.01 rather than DeepFill's 1, since a short CPU run is judged on PSNR.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.data.masks import apply_mask, batch_generator, check_policy, composite, make_masks, mask_to_image
from ganforge.errors import UserError
from ganforge.io import tiles
from ganforge.losses import LOSSES
from ganforge.objectives.adversarial import AdversarialObjective
from ganforge.objectives.base import Phase, StepState
from ganforge.schema import LossConfig

RECONSTRUCTIONS = ("l1", "l2")


@dataclass
class InpaintingLoss(LossConfig):
    name: str = "hinge"  # the adversarial loss of D and G (DeepFill v2: hinge on an SN-PatchGAN)
    mask: str = "box"  # the holes trained on: center | box | strokes | mixed (ganforge.data.masks)
    hole: float = 0.5  # mask=center: the square's side as a fraction of the image's (0.5: 16 px of 32)
    coverage: float = 0.25  # mask=box | strokes | mixed: the fraction of the image each hole removes
    rec: str = "l1"  # reconstruction distance: l1 | l2 (squared error)
    rec_weight: float = 1.0  # weight of the reconstruction term over the hole
    valid_weight: float = 1.0  # ... and over the known pixels, relative to the hole's (0: the hole only)
    adv_weight: float = 0.01  # weight of G's adversarial term; 0: no D (a pure reconstruction baseline)

    def validate(self, cfg) -> None:
        LOSSES.get(self.name)
        check_policy(self.mask, self.hole, self.coverage)
        if self.rec not in RECONSTRUCTIONS:
            raise UserError(f"loss.rec={self.rec}: choose one of {', '.join(RECONSTRUCTIONS)}")
        for key in ("rec_weight", "valid_weight", "adv_weight"):
            if getattr(self, key) < 0:
                raise UserError(f"loss.{key}={getattr(self, key)}: a loss weight must be >= 0 (0 turns the term off)")


@dataclass
class ContextEncoderLoss(InpaintingLoss):
    name: str = "nonsaturating"  # the paper's GAN loss
    mask: str = "center"  # Pathak et al.'s central region
    rec: str = "l2"  # the paper's normalised masked L2
    rec_weight: float = 0.999  # lambda_rec (Pathak et al. 2016, sec. 3.2)
    valid_weight: float = 0.0  # the paper's loss is on the hole only
    adv_weight: float = 0.001  # lambda_adv (sec. 3.2)


def region_mean(err: Tensor, weight: Tensor) -> Tensor:
    """Mean of err [N, C, H, W] over the pixels where weight [N, 1, H, W] is 1 (0 where there are none)."""
    w = weight.expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(1.0)


def reconstruction(out: Tensor, x: Tensor, region: Tensor, kind: str) -> Tensor:
    err = (out - x).abs() if kind == "l1" else (out - x).square()
    return region_mean(err, region)


def preview_count(n: int, k: int = 3) -> int:
    """k m^2 examples: whole `k`-image rows in the loop's square grid (see objectives.translation)."""
    m = max(1, int((max(n, 1) // k) ** 0.5))
    return k * m * m


class InpaintingObjective(AdversarialObjective):
    """The inpainting step (module docstring); the masked GAN's defaults."""

    Loss = InpaintingLoss
    train_keys: frozenset[str] = frozenset()
    ema_network = "G"

    @property
    def adversarial(self) -> bool:
        return self.cfg.loss.adv_weight > 0

    def phases(self) -> list[Phase]:
        phases = [Phase("G", self.g_step, "G")]
        if self.adversarial:
            phases.append(Phase("D", self.d_step, "D", needs_data=False))
        return phases

    def masks(self, n: int, height: int, width: int, gen: torch.Generator) -> Tensor:
        l = self.cfg.loss
        return make_masks(l.mask, n, height, width, gen, l.hole, l.coverage)

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        G, D, l = self.networks["G"], self.networks["D"], self.cfg.loss
        x = batch["x"]
        if x.ndim != 4:
            raise UserError(
                f"model.family={self.cfg.model.family} inpaints images [C, H, W]; this data is {list(x.shape[1:])}"
            )
        n, _, h, w = x.shape
        m = self.masks(n, h, w, batch_generator(self.cfg.train.seed, state.step)).to(x.device, x.dtype)
        out = G(apply_mask(x, m), m)  # [N, C, H, W]
        comp = composite(x, out, m)
        hole = reconstruction(out, x, m, l.rec)
        loss = l.rec_weight * hole
        logs = {"rec_hole": hole.item()}
        if l.valid_weight > 0:
            valid = reconstruction(out, x, 1 - m, l.rec)
            loss = loss + l.rec_weight * l.valid_weight * valid
            logs["rec_valid"] = valid.item()
        if self.adversarial:
            real_logits = D(x, m) if getattr(self.adv, "g_needs_real", False) else None
            adv = self.adv.g(fake=D(comp, m), real=real_logits)  # D's weights are not stepped here
            loss = loss + l.adv_weight * adv
            logs["adv_G"] = adv.item()
            state.carry.update(real=x, fake=comp.detach(), mask=m)
        logs["loss_G"] = loss.item()
        return loss, logs

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        D = self.networks["D"]
        real, fake, m = state.carry.pop("real"), state.carry.pop("fake"), state.carry.pop("mask")
        d_real, d_fake = D(real, m), D(fake, m)
        loss = self.adv.d(real=d_real, fake=d_fake)
        return loss, {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}

    # --- previews: rows of masked input | completion | original ----------------------------------------
    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        k = min(preview_count(n), len(data))
        gen = torch.Generator().manual_seed(seed + 7919)
        idx = torch.randperm(len(data), generator=gen)[:k]
        x = data.x[idx]
        if x.ndim != 4:
            raise UserError(f"model.family={self.cfg.model.family} inpaints images; this data is {list(x.shape[1:])}")
        return {"x": x, "mask": self.masks(k, x.shape[-2], x.shape[-1], gen)}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        x, m = fixed["x"], fixed["mask"]
        device = next(networks["G"].parameters()).device
        x, m = x.to(device), m.to(device)
        masked = apply_mask(x, m)
        shown = torch.maximum(masked, mask_to_image(m))  # the hole in white
        return tiles([shown, composite(x, networks["G"](masked, m), m), x])


class ContextEncoderObjective(InpaintingObjective):
    """Pathak et al. 2016's defaults (ContextEncoderLoss); the same step."""

    Loss = ContextEncoderLoss
    ema_network = "G"


__all__ = ["ContextEncoderLoss", "ContextEncoderObjective", "InpaintingLoss", "InpaintingObjective", "reconstruction"]
