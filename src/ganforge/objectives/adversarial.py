"""The adversarial objective every noise -> image family shares: D learns real vs G(z); G learns to
fool D. Families that need more extend it (conditional: labels and AC-GAN's class loss; StyleGAN:
style mixing and path length; translation: L1 and cycle terms).

The schedule (phases, run in this order at every step where they are due):
    D      x train.d_steps  adversarial D loss (+ penalties gp / r1 / r2 when loss.reg_interval == 1)
    G                       adversarial G loss (+ BigGAN orthogonal regularisation when loss.ortho > 0)
    Dreg   every loss.reg_interval steps, only when > 1: the penalties alone, times the interval
           (StyleGAN2's lazy regularisation, Karras et al. 2020, sec. 3.1)
After every optimiser step of D (D and Dreg) its weights are clipped to [-c, c] when loss.clip is set.

The parts a family extends:
    labels(batch, n, device)   the class labels G and D get (None: unconditional)
    make_fake(z, y, for_g)     G's samples
    judge(x, y)                D's verdict on x: every image D sees, real or fake, in D's step and in
                               G's step, passes through train.augment's transforms first (DiffAugment,
                               ADA); the penalties read D on the images as they are
    d_extra / g_extra          terms added to D's and G's losses (AC-GAN's class loss)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ganforge.augment import AdaController, Augment
from ganforge.errors import UserError
from ganforge.losses import LOSSES
from ganforge.objectives.base import Objective, Phase, StepState
from ganforge.regularizers import REGULARIZERS, clip_weights_, orthogonal_penalty, weighted_penalties
from ganforge.schema import LossConfig


@dataclass
class PenaltyLoss(LossConfig):
    gp: float = 0.0  # WGAN-GP penalty weight lambda (Gulrajani 2017: 10); 0: off
    r1: float = 0.0  # R1 gamma on real data (Mescheder 2018); 0: off
    r2: float = 0.0  # R2 gamma on generated data; 0: off
    reg_interval: int = 1  # > 1: penalties in a lazy "Dreg" phase every k steps, scaled by k (StyleGAN2)
    # one G forward per step: the (last) D phase's fakes are made with G's graph and the G phase
    # backpropagates through them, instead of drawing a second batch of fakes; the same in
    # distribution (G's weights do not change between the two phases), one G forward cheaper
    share_fake: bool = True

    def validate(self, cfg) -> None:
        LOSSES.get(self.name)
        for key in ("gp", "r1", "r2"):
            if getattr(self, key) < 0:
                raise UserError(f"loss.{key}={getattr(self, key)}: a penalty weight must be >= 0 (0 turns it off)")
        if self.reg_interval < 1:
            raise UserError(f"loss.reg_interval={self.reg_interval}: must be >= 1 (1: penalties in every D step)")


@dataclass
class AdversarialLoss(PenaltyLoss):
    clip: float | None = None  # WGAN weight clipping to [-c, c] after D steps (Arjovsky 2017: 0.01); None: off
    ortho: float = 0.0  # BigGAN orthogonal regularisation beta on G (Brock 2019: 1e-4); 0: off

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if self.ortho < 0:
            raise UserError(f"loss.ortho={self.ortho}: a penalty weight must be >= 0 (0 turns it off)")
        if self.clip is not None and self.clip <= 0:
            raise UserError(f"loss.clip={self.clip}: a positive bound such as 0.01, or none to disable clipping")


def unwrap(net: nn.Module) -> nn.Module:
    """The user's module behind torch.compile's wrapper (train.compile) and Lightning Fabric's (which
    only forwards `forward`)."""
    net = getattr(net, "_orig_mod", net)
    return getattr(net, "module", net) if hasattr(net, "_forward_module") else net


def ortho_target(G: nn.Module) -> nn.Module:
    """G, or G without the submodules it names in `ortho_exclude` (BigGAN's shared embedding)."""
    G = unwrap(G)
    skip = set(getattr(G, "ortho_exclude", ()))
    if not skip:
        return G
    return nn.ModuleList([m for name, m in G.named_children() if name not in skip])


def make_augment(t) -> tuple[Augment | None, AdaController | None]:
    """train.augment -> (the transforms D's inputs pass through, ADA's controller of their p)."""
    if t.augment == "diffaugment":
        return Augment(t.augment_policy, 1.0 if t.augment_p is None else t.augment_p), None
    if t.augment == "ada":
        ada = AdaController(t.ada_target, t.ada_interval, t.ada_kimg, t.augment_p or 0.0)
        return Augment(t.augment_policy, ada.p), ada
    return None, None


class Verdict(NamedTuple):
    logits: Tensor  # [N] D's real/fake logits
    aux: Tensor | None = None  # [N, K] class logits (AC-GAN), else None


class AdversarialObjective(Objective):
    """Noise -> data; adversarial loss from cfg.loss.name, D penalties, clipping, augmentation."""

    Loss = AdversarialLoss
    # whether this objective's G phase can judge the D phase's fakes (loss.share_fake); an extension whose
    # G phase needs inputs of its own (CTGAN's conditional vectors and logits) sets False
    shares_fake = True
    train_keys = frozenset(
        {"d_steps", "augment", "augment_policy", "augment_p", "ada_target", "ada_interval", "ada_kimg"}
    )

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        l = cfg.loss
        self.adv = LOSSES.get(l.name)
        self.z_dim = getattr(cfg.model, "z_dim", 0)
        # D penalties with a non-zero weight, in REGULARIZERS order: {"gp": lambda, "r1": gamma, ...}
        self.penalties = {k: w for k in REGULARIZERS.keys() if (w := getattr(l, k, 0.0)) > 0}
        self.lazy = bool(self.penalties) and l.reg_interval > 1
        self.clip = getattr(l, "clip", None)
        self.ortho = getattr(l, "ortho", 0.0)
        self.augment, self.ada = make_augment(cfg.train)
        self.share_fake = bool(getattr(l, "share_fake", False)) and self.shares_fake

    def phases(self) -> list[Phase]:
        share = self.share_fake
        phases = [
            Phase(
                "D",
                self.d_step,
                "D",
                repeats=self.cfg.train.d_steps,
                after=self.after_d,
                graph_for="G" if share else None,
            ),
            Phase("G", self.g_step, "G", needs_data=not share),
        ]
        if self.lazy:
            phases.append(Phase("Dreg", self.d_reg, "D", interval=self.cfg.loss.reg_interval, after=self.clip_d))
        return phases

    # --- the parts families extend -----------------------------------------------------------------
    def labels(self, batch: dict[str, Tensor], n: int, device) -> Tensor | None:
        """The labels [N] G and D get for this batch; None for an unconditional family."""
        return None

    def noise(self, n: int, device) -> Tensor:
        return torch.randn(n, self.z_dim, device=device)  # the global RNG: saved in checkpoints

    def make_fake(self, z: Tensor, y: Tensor | None, for_g: bool = False) -> Tensor:
        """G's samples for noise z (and labels y); for_g: made in G's own phase."""
        G = self.networks["G"]
        return G(z) if y is None else G(z, y)

    def aug(self, x: Tensor) -> Tensor:
        if self.augment is None:
            return x
        if x.ndim != 4:
            raise UserError(
                f"train.augment={self.cfg.train.augment} transforms images; this data is "
                f"{list(x.shape[1:])}: set train.augment=none"
            )
        return self.augment(x)

    def judge(self, x: Tensor, y: Tensor | None) -> Verdict:
        """D's verdict on augmented x (D's input path in every phase)."""
        D = self.networks["D"]
        x = self.aug(x)
        return Verdict(D(x) if y is None else D(x, y))

    def d_extra(self, real: Verdict, fake: Verdict, y: Tensor | None, logs: dict) -> Tensor | None:
        """A term added to D's loss (None: nothing); may add to `logs`."""
        return None

    def g_extra(self, fake: Verdict, y: Tensor | None, logs: dict) -> Tensor | None:
        """A term added to G's loss (None: nothing); may add to `logs`."""
        return None

    def d_penalty(self, real: Tensor, fake: Tensor, y: Tensor | None) -> tuple[Tensor, dict[str, float]]:
        """Sum of the weighted D penalties on this batch, and each unweighted term for the logs. They read
        D's own module, outside the device wrapper: in fp32 under mixed precision (gradient norms
        need it), and their input gradients (autograd.grad) are not the wrapper's backward pass."""
        return weighted_penalties(unwrap(self.networks["D"]), self.penalties, real=real, fake=fake, y=y)

    # --- the phases ----------------------------------------------------------------------------------
    def real_and_fake(self, batch: dict[str, Tensor], for_g: bool = False) -> tuple[Tensor, Tensor | None, Tensor]:
        """The real batch, its labels, and as many fakes for those labels, made without gradients
        (for_g: with G's graph, as G's own phase makes them, for the G phase to backpropagate through)."""
        real = batch["x"]
        y = self.labels(batch, len(real), real.device)
        z = self.noise(len(real), real.device)
        if for_g:
            return real, y, self.make_fake(z, y, for_g=True)
        with torch.no_grad():
            fake = self.make_fake(z, y)
        return real, y, fake

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        share = self.share_fake and state.last_repeat
        real, y, fake = self.real_and_fake(batch, for_g=True) if share else self.real_and_fake(batch)
        if share:  # the G phase of this step judges these fakes again, after D's update
            state.carry.update(shared_real=real, shared_fake=fake, **({} if y is None else {"shared_y": y}))
            fake = fake.detach()
        if self.ada is not None:
            self.augment.p = self.ada.p
        v_real, v_fake = self.judge(real, y), self.judge(fake, y)
        loss = self.adv.d(real=v_real.logits, fake=v_fake.logits)
        logs = {"loss_D": loss.item(), "D_real": v_real.logits.mean().item(), "D_fake": v_fake.logits.mean().item()}
        extra = self.d_extra(v_real, v_fake, y, logs)
        if extra is not None:
            loss = loss + extra
        if self.ada is not None:
            self.ada.accumulate(v_real.logits)
            logs["ada_p"] = self.ada.p
        if self.penalties and not self.lazy:
            reg, reg_logs = self.d_penalty(real, fake, y)
            loss = loss + reg
            logs.update(reg_logs)
        return loss, logs

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        if "shared_fake" in state.carry:  # loss.share_fake: the fakes the D phase made with G's graph
            real, fake, y = (
                state.carry.pop("shared_real"),
                state.carry.pop("shared_fake"),
                state.carry.pop("shared_y", None),
            )
        else:
            real = batch["x"]
            y = self.labels(batch, len(real), real.device)
            fake = self.make_fake(self.noise(len(real), real.device), y, for_g=True)
        v_fake = self.judge(fake, y)
        d_real = None
        if self.adv.g_needs_real:  # relativistic losses compare with D(real)
            with torch.no_grad():  # a constant for G
                d_real = self.judge(real, y).logits
        loss = self.adv.g(fake=v_fake.logits, real=d_real)
        logs = {"loss_G": loss.item()}
        extra = self.g_extra(v_fake, y, logs)
        if extra is not None:
            loss = loss + extra
        if self.ortho > 0:
            ortho = orthogonal_penalty(ortho_target(self.networks["G"]))
            loss = loss + self.ortho * ortho
            logs["reg_ortho"] = ortho.item()
        return loss, logs

    def d_reg(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        real, y, fake = self.real_and_fake(batch)
        reg, logs = self.d_penalty(real, fake, y)
        return reg * self.cfg.loss.reg_interval, logs  # one lazy step stands for `interval` steps

    def clip_d(self) -> None:
        if self.clip is not None:
            clip_weights_(self.networks["D"], self.clip)

    def after_d(self) -> None:
        self.clip_d()
        if self.ada is not None:
            self.ada.step()

    # --- ADA's state in checkpoints -------------------------------------------------------------------
    def state_tensors(self) -> dict[str, Tensor]:
        return {} if self.ada is None else {"ada": self.ada.state()}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        if self.ada is not None and "ada" in tensors:
            self.ada.load(tensors["ada"])
            self.augment.p = self.ada.p
