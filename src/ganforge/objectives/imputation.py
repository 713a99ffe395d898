"""GAIN's objective (Yoon et al. 2018, "GAIN: Missing Data Imputation using Generative Adversarial
Nets"): G fills the missing cells of a row given its observed cells and their mask; D guesses, cell
by cell, which cells were observed, helped by a hint that reveals part of the mask.

Per batch (x in [0, 1] with 0 where missing, m the mask, 1 = observed; [N, d] each):
    x~    = m x + (1 - m) z,   z ~ U(0, loss.noise)          G's input, with the mask
    x^    = m x~ + (1 - m) G(x~, m)                          observed cells kept, missing ones filled
    h     = b m (loss.hint=code)  or  b m + 0.5 (1 - b) (loss.hint=paper),   b ~ Bernoulli(hint_rate)
    D     minimises  -E[m log D(x^, h) + (1 - m) log(1 - D(x^, h))]        (every cell)
    G     minimises  -E[(1 - m) log D(x^, h)]  +  alpha E[(m x - m G)^2] / E[m]
The schedule is D, then G on the same batch (their code): the D phase leaves its inputs in state.carry.

loss.drop > 0 is ganforge's option, not the paper's: a further share `drop` of the observed cells is
hidden from G and D in each batch (m' = m c, c ~ Bernoulli(1 - drop)); G fills them and the
reconstruction term, still over every observed cell (mask m), then scores G on cells it did not see --
a direct training signal for the missing cells, which plain GAIN gets only through D.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.objectives.base import Objective, Phase, StepState
from ganforge.schema import LossConfig


@dataclass
class GAINLoss(LossConfig):
    name: str = "gain"  # GAIN's per-cell cross-entropy (the only choice)
    alpha: float = 100.0  # weight of the reconstruction MSE on observed cells (their code: 100; paper's search: 0.1-10)
    hint_rate: float = 0.9  # P(b = 1): the share of the mask the hint reveals (their code: 0.9)
    hint: str = "code"  # code: h = b m (jsyoon0823/GAIN); paper: h = b m + 0.5 (1 - b) (sec. 4)
    noise: float = 0.01  # missing cells enter G as U(0, noise) (their code: 0.01)
    drop: float = 0.0  # share of observed cells also hidden from G and D per batch, scored by the MSE (0: the paper)

    def validate(self, cfg) -> None:
        if self.name != "gain":
            raise UserError(f"loss.name={self.name!r}: the gain family trains with its own loss; remove loss.name")
        if self.alpha < 0 or not 0.0 <= self.hint_rate <= 1.0 or self.noise < 0 or not 0.0 <= self.drop < 1.0:
            raise UserError(
                f"loss.alpha={self.alpha}, loss.hint_rate={self.hint_rate}, loss.noise={self.noise}: "
                f"loss.drop={self.drop}: alpha >= 0, hint_rate in [0, 1], noise >= 0, drop in [0, 1)"
            )
        if self.hint not in ("code", "paper"):
            raise UserError(f"loss.hint={self.hint!r}: choose code (h = b m) or paper (h = b m + 0.5 (1 - b))")


# --- GAIN's arithmetic as pure functions (tests check them on hand cases) ---------------------------------
def gain_input(x: Tensor, m: Tensor, z: Tensor) -> Tensor:
    """x~ = m x + (1 - m) z: observed cells as they are, missing cells replaced by noise."""
    return m * x + (1 - m) * z


def fill(x: Tensor, m: Tensor, g: Tensor) -> Tensor:
    """x^ = m x + (1 - m) g: G's values in the missing cells only."""
    return m * x + (1 - m) * g


def hint(m: Tensor, b: Tensor, mode: str = "code") -> Tensor:
    """The hint D gets: b m (code; 0 says nothing, 1 says observed) or b m + 0.5 (1 - b) (paper; 0.5 says nothing)."""
    return b * m if mode == "code" else b * m + 0.5 * (1 - b)


def d_loss(logits: Tensor, m: Tensor) -> Tensor:
    """-mean(m log D + (1 - m) log(1 - D)) over every cell, D = sigmoid(logits)."""
    return F.binary_cross_entropy_with_logits(logits, m)


def g_adv_loss(logits: Tensor, m: Tensor) -> Tensor:
    """-mean((1 - m) log D) over every cell (their code's normalisation)."""
    return ((1 - m) * F.softplus(-logits)).mean()  # -log(sigmoid(logits)) on missing cells


def reconstruction(x: Tensor, m: Tensor, g: Tensor) -> Tensor:
    """mean((m x - m g)^2) / mean(m): MSE over the observed cells."""
    return ((m * x - m * g) ** 2).mean() / m.mean().clamp_min(1e-8)


class GAINObjective(Objective):
    """D then G on one batch of (x, m); see the module docstring."""

    Loss = GAINLoss
    draws_samples = False  # rows of a table: nothing to draw

    def phases(self) -> list[Phase]:
        return [Phase("D", self.d_step, "D"), Phase("G", self.g_step, "G", needs_data=False)]

    def inputs(self, x: Tensor, m: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(x~, h, m') for a batch, from the global RNG (saved in checkpoints); m' = m unless loss.drop."""
        l = self.cfg.loss
        seen = m * (torch.rand_like(m) >= l.drop).to(m.dtype) if l.drop > 0 else m
        z = torch.rand_like(x) * l.noise
        b = (torch.rand_like(m) < l.hint_rate).to(m.dtype)
        return gain_input(x, seen, z), hint(seen, b, l.hint), seen

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        x, m = batch["x"], batch["m"]
        x_tilde, h, seen = self.inputs(x, m)
        state.carry.update(x=x, m=m, x_tilde=x_tilde, h=h, seen=seen)  # the G phase trains on the same batch
        with torch.no_grad():
            g = self.networks["G"](x_tilde, seen)
        logits = self.networks["D"](fill(x_tilde, seen, g), h)
        loss = d_loss(logits, seen)
        return loss, {"loss_D": loss.item()}

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        c = state.carry
        x, m, x_tilde, h, seen = c["x"], c["m"], c["x_tilde"], c["h"], c["seen"]
        g = self.networks["G"](x_tilde, seen)
        adv = g_adv_loss(self.networks["D"](fill(x_tilde, seen, g), h), seen)
        mse = reconstruction(x, m, g)  # over every observed cell, those hidden by loss.drop included
        loss = adv + self.cfg.loss.alpha * mse
        return loss, {"loss_G": loss.item(), "G_adv": adv.item(), "mse_observed": mse.item()}

    def bind_data(self, data) -> None:
        if data.x.ndim != 2 or "m" not in data.extra:
            raise UserError(
                "the gain family imputes tables: train it on a CSV with data.name=table data.path=FILE.csv "
                "(e.g. 'ganforge train gain data.path=table.csv')"
            )

    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        return {"x": data.x[:n], "m": data.extra["m"][:n] if "m" in data.extra else torch.ones_like(data.x[:n])}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        """The first rows imputed (missing cells filled by G, noise-free)."""
        x, m = fixed["x"].flatten(1), fixed["m"].flatten(1)
        x_tilde = gain_input(x, m, torch.zeros_like(x))
        return fill(x_tilde, m, networks["G"](x_tilde, m))
