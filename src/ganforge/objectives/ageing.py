"""Age-cGAN (Antipov et al. 2017, "Face Aging With Conditional Generative Adversarial Networks"):
a conditional GAN over an ordered attribute group (age groups; on MNIST the stroke-thickness bucket),
plus an encoder E that maps an image to the latent z that G would need to draw it.

The schedule: the class-conditional adversarial step (objectives/conditional.py: D(x, y) on real
images with their group and on G(z, y) for the same groups), then
    E   || E(G(z, y)) - z ||^2 on fresh samples of G (z ~ N(0, I), y uniform over the groups), with
        G in eval mode (as inference runs it) and without gradients: the paper trains E after G, on
        G's samples (sec. 3.2). E starts at loss.encoder_start * train.steps (0.5: the second half,
        while G keeps training; 0: from the first step); before that its phase leaves it as it is.
No EMA: E inverts G as trained, the generator inference uses. The identity-preserving latent
optimisation (sec. 3.3) runs at inference: ganforge.inference.ageing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ganforge.errors import UserError
from ganforge.objectives.adversarial import unwrap
from ganforge.objectives.base import OptimizerSpec, Phase, StepState
from ganforge.objectives.conditional import ConditionalLoss, ConditionalObjective


@dataclass
class AgeCGANLoss(ConditionalLoss):
    encoder_start: float = 0.5  # E trains from this fraction of train.steps on (the paper: after G; 0: from the start)
    encoder_weight: float = 1.0  # weight of E's squared latent error

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if not 0 <= self.encoder_start < 1:
            raise UserError(f"loss.encoder_start={self.encoder_start}: a fraction of train.steps in [0, 1), e.g. 0.5")
        if self.encoder_weight <= 0:
            raise UserError(f"loss.encoder_weight={self.encoder_weight}: must be > 0")


def latent_error(z_hat: Tensor, z: Tensor) -> Tensor:
    """Squared Euclidean distance per sample, averaged: mean_n ||z_hat_n - z_n||^2."""
    return (z_hat - z).square().sum(1).mean()


class AgeCGANObjective(ConditionalObjective):
    """The conditional step, and E trained on G's samples (module docstring)."""

    Loss = AgeCGANLoss
    ema_network = None

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return super().optimizers() | {"E": OptimizerSpec(("E",), "g_optim")}

    def phases(self) -> list[Phase]:
        return [*super().phases(), Phase("E", self.e_step, "E", needs_data=False)]

    def encoder_due(self, step: int) -> bool:
        return step >= int(self.cfg.loss.encoder_start * self.cfg.train.steps)

    def e_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        E = self.networks["E"]
        if not self.encoder_due(state.step):  # a zero loss: Adam moves no weight on zero gradients
            return sum(p.sum() for p in E.parameters()) * 0.0, {}
        G = self.networks["G"]
        device = next(unwrap(E).parameters()).device
        n = self.cfg.train.batch_size
        z = self.noise(n, device)
        y = torch.randint(self.num_classes, (n,), device=device)
        was = G.training
        G.eval()  # the samples inference will invert (BatchNorm's running statistics)
        try:
            with torch.no_grad():
                x = G(z, y)
        finally:
            G.train(was)
        err = latent_error(E(x), z)
        return self.cfg.loss.encoder_weight * err, {"loss_E": err.item()}
